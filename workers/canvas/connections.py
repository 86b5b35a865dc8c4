"""The canvas host's connections: bounded like the gateway's own port (frontend/http/server.py).

    head deadline   a request head must be complete HEADERS_TIMEOUT_S after its first byte (a new
                    connection: after it opened); trickling bytes does not extend it (slowloris).
                    Missed: 408, then the connection is closed.
    keep-alive      an idle connection between requests is closed after KEEPALIVE_TIMEOUT_S
                    (aiohttp's own default is an hour).
    connections     at most MAX_CONNECTIONS open at once; one more gets 503 and is closed, so idle
                    sockets cannot use up the process's descriptors (which it needs to open files).
    errors          aiohttp's own answers (bad HTTP 400s, a 500 from a bug) carry the security
                    headers and no traceback for the client; a 500 is logged with its traceback.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from openclaw.ipc.logs import get_logger

HEADERS_TIMEOUT_S = 10.0
KEEPALIVE_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 512
ABORT_AFTER_S = 2.0
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

log = get_logger("canvas/http")


def raw_text_response(status: int, reason: str, body: str) -> bytes:
    data = (body + "\n").encode()
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(data)}",
            "Cache-Control: no-store", "Connection: close", *(f"{k}: {v}" for k, v in SECURITY_HEADERS.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


class CanvasRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol with the head deadline, the connection cap and quiet errors."""

    __slots__ = ("_head_deadline", "_last_payload")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._last_payload: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self._manager is not None
        if len(self._manager.connections) > MAX_CONNECTIONS:
            log.warn("too many canvas connections; refusing one", limit=MAX_CONNECTIONS)
            self._close_with(transport, raw_text_response(503, "Service Unavailable", "Too Many Connections"))
            return
        self._arm_head_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._upgraded or self._payload_parser is not None:
            super().data_received(data)
            return
        if self._head_deadline is None and data and (self._last_payload is None or self._last_payload.is_eof()):
            self._arm_head_deadline()
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            self._disarm_head_deadline()
            if self._messages:
                self._last_payload = self._messages[-1][1]

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self._loop.call_later(HEADERS_TIMEOUT_S, self._head_deadline_missed)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_deadline_missed(self) -> None:
        self._head_deadline = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        answer = b"" if self._request_in_progress else raw_text_response(408, "Request Timeout", "Request Timeout")
        self._close_with(transport, answer)

    def _close_with(self, transport: asyncio.BaseTransport, answer: bytes) -> None:
        if answer:
            transport.write(answer)  # type: ignore[attr-defined]
        self.force_close()
        transport.close()  # after the answer leaves
        self._loop.call_later(ABORT_AFTER_S, transport.abort)  # type: ignore[attr-defined]

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        if status >= 500:
            tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
            log.error("canvas request failed", path=str(getattr(request, "path", "?")), error=repr(exc), traceback=tb)
            text, reason = "Internal Server Error", "internal error"
        else:
            reason = (message or (str(exc) if exc is not None else "") or "bad request")[:200]
            log.debug("bad HTTP request", status=status, error=reason)
            text = "Bad Request"
        resp = web.Response(status=status, text=text + "\n", content_type="text/plain", charset="utf-8",
                            headers={"Cache-Control": "no-store", **SECURITY_HEADERS})
        resp.force_close()
        return resp


class CanvasServer(web.Server):
    def __call__(self) -> CanvasRequestHandler:
        return CanvasRequestHandler(self, loop=self._loop, **self._kwargs)


class CanvasRunner(web.AppRunner):
    """An AppRunner whose connections are CanvasRequestHandlers."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", KEEPALIVE_TIMEOUT_S)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        return CanvasServer(
            base.request_handler, request_factory=base.request_factory, handler_cancellation=base.handler_cancellation,
            loop=base._loop, **base._kwargs,
        )
