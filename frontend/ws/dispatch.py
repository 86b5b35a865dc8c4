"""Route one post-handshake request: validate the envelope, authorize, then answer locally
(methods/) or forward to the worker that registered the method (router.py).

Order (spec §3): envelope -> frontend/auth/policy.check_call (role, scope; unknown methods need
admin) -> route.
Every error becomes an error frame here, once; an unexpected exception in a handler is a
retryable UNAVAILABLE and the connection stays open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc import envelope, frames
from openclaw.ipc.errors import DECODE_ERRORS, ErrorCode, ErrorShape, GatewayError, internal_error, invalid_request, unavailable
from openclaw.ipc.faults import Faults
from openclaw.ipc.logs import get_logger

from ..auth import policy
from ..caller import Connection
from ..methods import LOCAL_METHODS
from .utf8 import INVALID_UTF8_CLOSE, valid_utf8

if TYPE_CHECKING:
    from ..services import Services

log = get_logger("gateway/ws")


class Dispatcher:
    def __init__(self, svc: Services, faults: Faults | None) -> None:
        self.svc = svc
        self.faults = faults
        self.local = LOCAL_METHODS
        self.tasks: set[asyncio.Task[None]] = set()
        mode = svc.settings.gateway.ws_log
        self.log_frames = mode in ("full", "compact") or svc.settings.gateway.verbose
        self.log_full = mode == "full"
        if self.log_frames:
            svc.router.on_answer = lambda conn, req_id, method, ok: self._log_res(conn, req_id, method, ok, None)

    def handle(self, conn: Connection, data: bytes) -> None:
        try:
            req = frames.request_decoder.decode(data)
        except DECODE_ERRORS as exc:
            self._invalid_frame(conn, data, exc)
            return
        if self.faults is not None:
            self.faults.on_request()
        if self.svc.draining:  # the client was told `shutdown`; answer, never drop
            error = unavailable("gateway is restarting or stopping; reconnect and retry", retry_after_ms=1000, details={"reason": "gateway-draining"})
            self._reply_error(conn, req.id, req.method, error.shape())
            return
        if self.log_full:
            log.info(f"⇄ req {req.method}", conn=conn.conn_id, id=req.id, frame=data.decode(errors="replace")[:4096])
        started = time.perf_counter() if self.log_frames else None
        try:
            answer = self._route(conn, req)
        except GatewayError as exc:
            self._reply_error(conn, req.id, req.method, exc.shape())
            return
        except Exception as exc:  # a handler bug must not close the client's connection
            log.error("method failed", method=req.method, error=repr(exc))
            self._reply_error(conn, req.id, req.method, internal_error(req.method))
            return
        if answer is None:
            return  # routed to a worker: the router answers
        if isinstance(answer, bytes):
            conn.send_raw(frames.response_ok(req.id, answer))
            if started is not None:
                self._log_res(conn, req.id, req.method, True, started)
            return
        task = asyncio.get_running_loop().create_task(self._finish(conn, req.id, req.method, answer, started))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def handle_binary(self, conn: Connection, data: bytes) -> None:
        """Upstream reads a binary frame as text; one that is not UTF-8 gets an error frame (a
        binary frame is not invalid text, so no 1007)."""
        if valid_utf8(data):
            self.handle(conn, data)
            return
        error = GatewayError(ErrorCode.INVALID_REQUEST, "invalid request frame: binary frame is not UTF-8 JSON").shape()
        conn.send_raw(frames.response_error("invalid", error))

    def _route(self, conn: Connection, req: frames.RequestFrame) -> bytes | Awaitable[bytes] | None:
        method = req.method
        if method == "connect":
            raise invalid_request("connect is only valid as the first request")
        if not method:
            raise invalid_request("invalid request frame: method must be a non-empty string")
        if isinstance(req.id, str) and not req.id:
            raise invalid_request("invalid request frame: id must be a non-empty string")
        raw_params = bytes(req.params)
        policy.check_call(conn.principal, method, raw_params)
        local = self.local.get(method)
        if local is not None:
            return local(self.svc, conn, raw_params)
        router = self.svc.router
        slot = router.route_for(method)
        if slot is not None:
            client = conn.client
            p = conn.principal
            caller = envelope.CallerInfo(conn.conn_id, p.client_id, p.client_mode, p.role, list(p.scopes), p.device_id or "")
            router.forward(conn, req.id, slot, method, raw_params, caller, policy.call_timeout_s(method, raw_params))
            return None
        if self.svc.tree.required_not_ready():
            raise unavailable("gateway starting; retry shortly", retry_after_ms=500, details={"reason": "workers-starting"})
        raise invalid_request(f"unknown method: {method}")

    async def _finish(
        self, conn: Connection, req_id: Any, method: str, pending: Awaitable[bytes], started: float | None
    ) -> None:
        try:
            payload = await pending
        except GatewayError as exc:
            self._reply_error(conn, req_id, method, exc.shape())
            return
        except Exception as exc:  # a bug in a handler must not kill the connection
            log.error("method failed", method=method, error=repr(exc))
            self._reply_error(conn, req_id, method, internal_error(method))
            return
        conn.send_raw(frames.response_ok(req_id, payload))
        if started is not None:
            self._log_res(conn, req_id, method, True, started)

    def _reply_error(self, conn: Connection, req_id: Any, method: str, error: ErrorShape) -> None:
        conn.send_raw(frames.response_error(req_id, error))
        log.info(f"⇄ res ✗ {method} errorCode={error.code} errorMessage={error.message}", conn=conn.conn_id, id=req_id)

    def _log_res(self, conn: Connection, req_id: Any, method: str, ok: bool, started: float | None) -> None:
        ms = f" {int((time.perf_counter() - started) * 1000)}ms" if started is not None else ""
        log.info(f"⇄ res {'✓' if ok else '✗'} {method}{ms}", conn=conn.conn_id, id=req_id)

    def _invalid_frame(self, conn: Connection, data: bytes, exc: Exception) -> None:
        """A frame that is not a valid request: an error frame with its own id when it had one
        (id "invalid" otherwise), or close 1007 when it is not UTF-8. Upstream ignores malformed
        JSON after hello; we answer it, so every input gets an answer."""
        if not valid_utf8(data):
            conn.close_soon(INVALID_UTF8_CLOSE, "invalid UTF-8")
            return
        if isinstance(exc, RecursionError):
            error = GatewayError(ErrorCode.INVALID_REQUEST, "invalid request frame: nested too deeply").shape()
            conn.send_raw(frames.response_error("invalid", error))
            return
        try:
            raw = frames.any_decoder.decode(data)
        except DECODE_ERRORS as not_json:
            error = GatewayError(ErrorCode.INVALID_REQUEST, f"invalid request frame: not JSON ({not_json})"[:300]).shape()
            conn.send_raw(frames.response_error("invalid", error))
            return
        req_id: Any = "invalid"
        if isinstance(raw, dict):
            rid = raw.get("id")
            if (isinstance(rid, str) and rid) or (isinstance(rid, int) and not isinstance(rid, bool)):
                req_id = rid
        error = GatewayError(ErrorCode.INVALID_REQUEST, f"invalid request frame: {exc}"[:300]).shape()
        conn.send_raw(frames.response_error(req_id, error))
