"""A worker's own calls of gateway methods (envelope.Request -> Response): a channel worker starts
the `agent` run of an inbound message, or aborts one.

Each requesting worker instance gets an internal connection (`worker:<instance>`) the router
answers like a client's: the interim `accepted` res and the final res come back to it as frames
and go to the worker as Response. The run's events are not forwarded (the worker needs only the
final answer; operators watching the session get the events from the agent worker as usual).
Only the methods a worker kind is allowed, with a fixed operator identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from openclaw.ipc import envelope
from openclaw.ipc.errors import DECODE_ERRORS, ErrorCode, ErrorShape, GatewayError
from openclaw.ipc.logs import get_logger

from .auth.principal import Principal

if TYPE_CHECKING:
    from .router import WorkerRouter

log = get_logger("gateway/worker-requests")
ALLOWED = {"channel": frozenset({"agent", "chat.abort"})}  # worker kind -> the methods it may call
SCOPES = ("operator.read", "operator.write")
MAX_TIMEOUT_S = 30.0  # until the interim answer; a two-phase call is then held by the worker's hold_s
MAX_OPEN_PER_WORKER = 2048
_decode = msgspec.json.Decoder()


def _kind(slot: str) -> str:
    return slot.split(":", 1)[0]


class WorkerConnection:
    """frontend.caller.Connection for one requesting worker instance."""

    def __init__(self, requests: WorkerRequests, identity: bytes, slot: str) -> None:
        self.requests, self.identity, self.slot = requests, identity, slot
        self.conn_id = f"worker:{identity.decode(errors='replace')}"
        self.peer = "worker"
        self.is_local = True
        self.principal = Principal("operator", SCOPES, "worker", None, f"worker:{slot}", "backend")
        self.client = None
        self.secret_digest = None
        self.inflight = 0

    def send_raw(self, payload: bytes) -> None:
        try:
            frame = _decode.decode(payload)
        except DECODE_ERRORS:
            return
        if not isinstance(frame, dict) or frame.get("type") != "res" or not isinstance(frame.get("id"), int):
            return
        req_id, ok = frame["id"], bool(frame.get("ok"))
        body = frame.get("payload")
        interim = ok and isinstance(body, dict) and body.get("status") == "accepted"
        error = None
        if not ok:
            err = frame.get("error") if isinstance(frame.get("error"), dict) else {}
            error = ErrorShape(code=str(err.get("code") or "UNAVAILABLE"), message=str(err.get("message") or "failed"),
                               retryable=err.get("retryable"), retryAfterMs=err.get("retryAfterMs"),
                               details=msgspec.json.encode(err["details"]) if "details" in err else None)
        self.requests.router.respond(self.identity, envelope.Response(
            req_id=req_id, ok=ok, payload=msgspec.json.encode(body), error=error, interim=interim,
        ))

    def send_event(self, prefix: bytes) -> None:
        pass

    def close_soon(self, code: int, reason: str) -> None:
        pass

    def abort(self) -> None:
        pass


class WorkerRequests:
    def __init__(self, router: WorkerRouter) -> None:
        self.router = router
        self.conns: dict[bytes, WorkerConnection] = {}
        router.on_request = self.on_request

    def on_request(self, identity: bytes, slot: str, msg: envelope.Request) -> None:
        try:
            self._forward(identity, slot, msg)
        except GatewayError as exc:
            self.router.respond(identity, envelope.Response(req_id=msg.req_id, ok=False, error=exc.shape()))

    def _forward(self, identity: bytes, slot: str, msg: envelope.Request) -> None:
        if msg.method not in ALLOWED.get(_kind(slot), ()):
            log.warn("worker asked for a method it may not call", worker=slot, method=msg.method[:64])
            raise GatewayError(ErrorCode.INVALID_REQUEST, f"a {_kind(slot)} worker may not call {msg.method[:64]}")
        conn = self.conns.get(identity)
        if conn is None:
            self.conns = {i: c for i, c in self.conns.items() if i in self.router.instances}  # forget gone workers
            conn = self.conns[identity] = WorkerConnection(self, identity, slot)
        if conn.inflight >= MAX_OPEN_PER_WORKER:
            raise GatewayError(ErrorCode.UNAVAILABLE, "too many open requests from this worker", retryable=True,
                               retry_after_ms=500)
        target = self.router.route_for(msg.method)
        if target is None:
            raise GatewayError(ErrorCode.UNAVAILABLE, f"no worker serves {msg.method} yet; retry shortly",
                               retryable=True, retry_after_ms=500)
        p = conn.principal
        caller = envelope.CallerInfo(conn.conn_id, p.client_id, p.client_mode, p.role, list(p.scopes), "")
        timeout = min(max(msg.timeout_s, 0.5), MAX_TIMEOUT_S)
        self.router.forward(conn, msg.req_id, target, msg.method, msg.params, caller, timeout)

