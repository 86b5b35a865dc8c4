"""Route one post-handshake request: validate the envelope, authorize, then answer
locally (methods/) or forward to the worker that registered the method (router.py).

Order (spec §3): envelope -> role -> scope (unknown methods need admin) -> route.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc import envelope, frames, scopes
from openclaw.ipc.errors import ErrorCode, GatewayError, invalid_request, unavailable
from openclaw.ipc.logs import get_logger

from ..methods import LOCAL_METHODS

if TYPE_CHECKING:
    from ..context import Frontend
    from .session import Session

log = get_logger("gateway/ws")


def _error_dict(code: ErrorCode, message: str, details: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code.value, "message": message}
    if details is not None:
        out["details"] = details
    return out


class Dispatcher:
    def __init__(self, fe: Frontend) -> None:
        self.fe = fe
        self.local = LOCAL_METHODS
        self.tasks: set[asyncio.Task[None]] = set()
        mode = fe.gateway.ws_log
        self.log_frames = mode in ("full", "compact") or fe.gateway.verbose
        self.log_full = mode == "full"

    def handle(self, session: Session, data: bytes) -> None:
        try:
            req = frames.request_decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self._invalid_frame(session, data, exc)
            return
        if self.log_full:
            log.info(f"⇄ req {req.method}", conn=session.conn_id, id=req.id, frame=data.decode(errors="replace")[:4096])
        method = req.method
        started = time.perf_counter() if self.log_frames else 0.0
        try:
            result = self._route(session, req)
        except GatewayError as exc:
            self._reply_error(session, req.id, method, exc.to_wire(), started)
            return
        if isinstance(result, bytes):
            session.send_raw(frames.response_ok(req.id, result))
            if self.log_frames:
                self._log_res(session, req.id, method, True, started)
            return
        task = asyncio.get_running_loop().create_task(self._finish(session, req.id, method, result, started))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _route(self, session: Session, req: frames.RequestFrame) -> Any:
        method = req.method
        if method == "connect":
            raise invalid_request("connect is only valid as the first request")
        if not method:
            raise invalid_request("invalid request frame: method must be a non-empty string")
        if isinstance(req.id, str) and not req.id:
            raise invalid_request("invalid request frame: id must be a non-empty string")
        raw_params = bytes(req.params)
        self._authorize(session, method, raw_params)
        local = self.local.get(method)
        if local is not None:
            return local(self.fe, session, raw_params)
        worker = self.fe.router.route_for(method)
        if worker is not None:
            return self._call_worker(session, worker, method, raw_params)
        if not self.fe.router.all_registered():
            raise unavailable("gateway starting; retry shortly", retry_after_ms=500, details={"reason": "workers-starting"})
        raise invalid_request(f"unknown method: {method}")

    def _authorize(self, session: Session, method: str, raw_params: bytes) -> None:
        if method in scopes.SCOPE_EXEMPT:
            return
        table_scope = scopes.method_table().get(method)
        if table_scope == "node":
            if session.role != "node":
                raise invalid_request(f"unauthorized role: {session.role}")
            return
        if session.role == "node":
            raise invalid_request("unauthorized role: node")
        params: Any = None
        if table_scope == "dynamic" and raw_params:
            try:
                params = msgspec.json.decode(raw_params)
            except msgspec.DecodeError:
                params = None
        needed = scopes.required_scope(method, params)
        if not scopes.satisfies(session.scopes, needed):
            raise GatewayError(
                ErrorCode.FORBIDDEN,
                f"missing scope: {needed}",
                details={"code": "MISSING_SCOPE", "missingScope": needed, "requiredScopes": [needed]},
            )

    async def _call_worker(self, session: Session, worker: str, method: str, raw_params: bytes) -> bytes:
        client = session.client
        caller = envelope.CallerInfo(
            conn_id=session.conn_id,
            client_id=client.id if client else "",
            client_mode=client.mode if client else "",
            role=session.role,
            scopes=session.scopes,
        )
        reply = await self.fe.router.call(worker, method, raw_params, caller)
        if reply.ok:
            return reply.payload
        err = reply.error
        assert err is not None
        wire: dict[str, Any] = {"code": err.code, "message": err.message}
        if err.details is not None:
            wire["details"] = msgspec.json.decode(err.details)
        if err.retryable is not None:
            wire["retryable"] = err.retryable
        if err.retryAfterMs is not None:
            wire["retryAfterMs"] = err.retryAfterMs
        raise _WireError(wire)

    async def _finish(self, session: Session, req_id: Any, method: str, pending: Any, started: float) -> None:
        try:
            payload = await pending if inspect.isawaitable(pending) else pending
        except _WireError as exc:
            self._reply_error(session, req_id, method, exc.wire, started)
            return
        except GatewayError as exc:
            self._reply_error(session, req_id, method, exc.to_wire(), started)
            return
        except Exception as exc:  # a bug in a handler must not kill the connection
            log.error("method failed", method=method, error=repr(exc))
            self._reply_error(
                session, req_id, method,
                {"code": "UNAVAILABLE", "message": f"{method} failed: internal error", "retryable": True, "retryAfterMs": 1000},
                started,
            )
            return
        session.send_raw(frames.response_ok(req_id, payload))
        if self.log_frames:
            self._log_res(session, req_id, method, True, started)

    def _reply_error(self, session: Session, req_id: Any, method: str, wire: dict[str, Any], started: float) -> None:
        session.send_raw(frames.response_error(req_id, wire))
        log.info(
            f"⇄ res ✗ {method} errorCode={wire['code']} errorMessage={wire['message']}",
            conn=session.conn_id, id=req_id,
        )

    def _log_res(self, session: Session, req_id: Any, method: str, ok: bool, started: float) -> None:
        ms = int((time.perf_counter() - started) * 1000)
        log.info(f"⇄ res {'✓' if ok else '✗'} {method} {ms}ms", conn=session.conn_id, id=req_id)

    def _invalid_frame(self, session: Session, data: bytes, exc: Exception) -> None:
        """A frame that is not a valid request: answer with its own id when it had one."""
        try:
            raw = frames.any_decoder.decode(data)
        except msgspec.DecodeError:
            return  # malformed JSON after hello: ignored, the socket stays open
        req_id: Any = "invalid"
        if isinstance(raw, dict):
            rid = raw.get("id")
            if (isinstance(rid, str) and rid) or (isinstance(rid, int) and not isinstance(rid, bool)):
                req_id = rid
        session.send_raw(
            frames.response_error(req_id, _error_dict(ErrorCode.INVALID_REQUEST, f"invalid request frame: {exc}"))
        )


class _WireError(Exception):
    def __init__(self, wire: dict[str, Any]) -> None:
        super().__init__(wire.get("message"))
        self.wire = wire
