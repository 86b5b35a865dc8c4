"""One agent run on behalf of an HTTP request: an internal connection the router answers like a
WebSocket client (brief contract D).

    run = HttpRun(svc, peer); run.start(params)      -> `agent` forwarded (conn id "http:<uuid>")
    async for kind, body in run.items(request):      -> ("event", (name, payload)) ... ("final", res)
    run.close()                                      -> detached from the hub

The connection is attached to the hub by id only (no broadcasts), so the worker's Publish of
the run's events reaches it; `send_raw` gets the res frames (the interim `accepted`, then the
final one), `send_event` the event frames. When the HTTP client goes away before the final res
(`items` polls the transport) the run is aborted with `chat.abort {sessionKey, runId}` through
the same connection: the worker cancels the provider stream.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from openclaw.ipc import envelope, scopes
from openclaw.ipc.errors import DECODE_ERRORS, ErrorCode, GatewayError
from openclaw.ipc.logs import get_logger

from ..auth.principal import Principal

if TYPE_CHECKING:
    from ..services import Services

log = get_logger("gateway/http")
HTTP_SCOPES = tuple(scopes.CLI_DEFAULT_SCOPES)  # a shared-secret Bearer is a full operator
ACCEPT_TIMEOUT_S = 10.0
DISCONNECT_POLL_S = 0.25
MAX_QUEUED_BYTES = 8 * 1024 * 1024  # events a slow HTTP reader has not taken yet (as a WS slow consumer)
RUN_REQ, ABORT_REQ = "http-run", "http-abort"
_decode = msgspec.json.Decoder()


class RunError(Exception):
    """The run could not start or ended in error: the final res's error (+ payload)."""

    def __init__(self, code: str, message: str, payload: Any = None, accepted: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.payload, self.accepted = code, message, payload, accepted


class HttpRun:
    """Implements frontend.caller.Connection for the router and the hub."""

    def __init__(self, svc: Services, peer: str, client_id: str = "openai-http", abort_on_disconnect: bool = True) -> None:
        self.svc = svc
        self.abort_on_disconnect = abort_on_disconnect
        self.conn_id = f"http:{uuid.uuid4()}"
        self.peer = peer
        self.is_local = False
        self.principal = Principal("operator", HTTP_SCOPES, "token", None, client_id, "backend")
        self.client = None
        self.secret_digest = None
        self.inflight = 0
        self.accepted: dict[str, Any] | None = None
        self.final: dict[str, Any] | None = None
        self.aborted = False
        self.run_id = ""
        self.session_key = ""
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._queued_bytes = 0
        self.overflowed = False
        self._attached = False

    # ------------------------------------------------------------------ Connection

    def send_raw(self, payload: bytes) -> None:
        try:
            frame = _decode.decode(payload)
        except DECODE_ERRORS:
            return
        if not isinstance(frame, dict) or frame.get("type") != "res" or frame.get("id") != RUN_REQ:
            return  # the abort's answer, or not a res
        body = frame.get("payload")
        if frame.get("ok") and isinstance(body, dict) and body.get("status") == "accepted" and self.accepted is None:
            self.accepted = body
            self.session_key = body.get("sessionKey") or self.session_key
            self._queue.put_nowait(("accepted", body))
            return
        self.final = frame
        self._queue.put_nowait(("final", frame))

    def send_event(self, prefix: bytes) -> None:
        if self.overflowed:
            return
        self._queued_bytes += len(prefix)
        if self._queued_bytes > MAX_QUEUED_BYTES:  # the client does not read: end the run, never buffer without bound
            self.overflowed = True
            log.warn("http client too slow for its run's stream; aborting", runId=self.run_id, queued=self._queued_bytes)
            self.cancel()
            return
        try:
            frame = _decode.decode(prefix + b"0}")
        except DECODE_ERRORS:
            return
        self._queue.put_nowait(("event", (frame.get("event"), frame.get("payload"), len(prefix))))

    def close_soon(self, code: int, reason: str) -> None:
        pass

    def abort(self) -> None:
        pass

    # ------------------------------------------------------------------ the run

    def _caller(self) -> envelope.CallerInfo:
        p = self.principal
        return envelope.CallerInfo(self.conn_id, p.client_id, p.client_mode, p.role, list(p.scopes), "")

    def _forward(self, req_id: str, method: str, params: dict[str, Any], timeout_s: float) -> None:
        router = self.svc.router
        slot = router.route_for(method)
        if slot is None:
            raise GatewayError(ErrorCode.UNAVAILABLE, "the agent worker is not available; retry shortly", retryable=True,
                               retry_after_ms=1000)
        router.forward(self, req_id, slot, method, msgspec.json.encode(params), self._caller(), timeout_s)

    def start(self, params: dict[str, Any]) -> None:
        """Forward `agent` (raises GatewayError when it cannot be sent, the connection detached again)."""
        self.run_id = str(params.get("idempotencyKey", ""))
        self.session_key = str(params.get("sessionKey") or "")
        self.svc.hub.attach(self)
        self._attached = True
        try:
            self._forward(RUN_REQ, "agent", params, ACCEPT_TIMEOUT_S)
        except GatewayError:
            self.close()  # nothing was sent: detached again, the caller only answers the error
            raise

    def cancel(self) -> None:
        """The HTTP client went away: abort the run (once), if it is still going."""
        if self.aborted or self.final is not None or not self.abort_on_disconnect:
            return
        self.aborted = True
        log.info("http client disconnected mid-run; aborting", runId=self.run_id, sessionKey=self.session_key)
        try:
            self._forward(ABORT_REQ, "chat.abort", {"sessionKey": self.session_key, "runId": self.run_id}, ACCEPT_TIMEOUT_S)
        except GatewayError as exc:
            log.warn("chat.abort for a disconnected http client failed", error=exc.message)

    def close(self) -> None:
        if self._attached:
            self.svc.hub.detach(self)
            self._attached = False

    async def items(self, request: web.Request) -> AsyncIterator[tuple[str, Any]]:
        """Everything the run sends until its final res (included); stops early (after aborting the
        run) when the client disconnects."""
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), DISCONNECT_POLL_S)
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    self.cancel()
                    return
                continue
            if item[0] == "event":
                self._queued_bytes -= item[1][2]
                item = ("event", item[1][:2])
            yield item
            if item[0] == "final":
                return


def final_error(frame: dict[str, Any], accepted: bool) -> RunError | None:
    """None for an ok final res, else its error."""
    if frame.get("ok"):
        body = frame.get("payload")
        if isinstance(body, dict) and body.get("status") not in (None, "ok", "completed"):
            return RunError("UNAVAILABLE", str(body.get("summary") or "agent run failed"), body, accepted)
        return None
    err = frame.get("error") if isinstance(frame.get("error"), dict) else {}
    return RunError(str(err.get("code") or "UNAVAILABLE"), str(err.get("message") or "agent run failed"),
                    frame.get("payload"), accepted)


def result_text(payload: Any) -> str:
    """The reply text of a final `agent` payload."""
    result = payload.get("result") if isinstance(payload, dict) else None
    if not isinstance(result, dict):
        return ""
    meta = result.get("meta") if isinstance(result.get("meta"), dict) else {}
    visible = meta.get("finalAssistantVisibleText")
    if isinstance(visible, str):
        return visible
    texts = [p.get("text") for p in result.get("payloads") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n\n".join(texts)


def result_meta(payload: Any) -> dict[str, Any]:
    """(usage, provider/model used, stop reason) of a final payload, with defaults."""
    result = payload.get("result") if isinstance(payload, dict) else None
    meta = result.get("meta") if isinstance(result, dict) and isinstance(result.get("meta"), dict) else {}
    agent_meta = meta.get("agentMeta") if isinstance(meta.get("agentMeta"), dict) else {}
    usage = agent_meta.get("usage") if isinstance(agent_meta.get("usage"), dict) else {}

    def num(v: Any) -> int:
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0

    provider, model = agent_meta.get("provider"), agent_meta.get("model")
    used = f"{provider}/{model}" if provider and model else ""
    completion = meta.get("completion") if isinstance(meta.get("completion"), dict) else {}
    stop = completion.get("stopReason") or meta.get("stopReason") or "stop"
    inp, out = num(usage.get("input")), num(usage.get("output"))
    return {"input": inp, "output": out, "total": num(usage.get("total")) or inp + out, "used": used, "stop": stop}


def finish_reason(stop: str) -> str:
    return "length" if stop in ("length", "max_tokens") else "stop"


def error_status(err: RunError) -> tuple[int, str]:
    if err.code == "INVALID_REQUEST":
        return 400, "invalid_request_error"
    if err.code == "AGENT_TIMEOUT":
        return 504, "timeout"
    return 500, "api_error"
