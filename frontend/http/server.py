"""The aiohttp server the front-end runs: its request handler adds a total deadline on request
heads and answers bad HTTP with JSON, without a traceback.

Header deadline (spec S5, slowloris): a request head must be complete HEADERS_TIMEOUT_S after
its first byte (a new connection: after it opened). It is a deadline, not an idle timeout:
trickling a byte every few seconds does not extend it. Missed, the client gets
`408 {"error":{"type":"request_timeout",…}}` and the connection is closed. Between requests on a
keep-alive connection no deadline runs (the keep-alive timeout does); bytes arriving there start
the next request's. Upgraded (WebSocket) connections have the 15 s `connect` deadline instead
(ws/session.py).
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from openclaw.ipc.logs import get_logger

from .responses import SECURITY_HEADERS, json_error

log = get_logger("gateway/http")
HEADERS_TIMEOUT_S = 10.0
KEEPALIVE_TIMEOUT_S = 75.0
ABORT_AFTER_S = 2.0


def _raw_json_response(status: int, reason: str, message: str, type_: str) -> bytes:
    body = msgspec.json.encode({"error": {"message": message, "type": type_}})
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(body)}", "Cache-Control: no-store", "Connection: close"]
    head += [f"{k}: {v}" for k, v in SECURITY_HEADERS.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class GatewayRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol, plus the header deadline and quiet JSON errors."""

    __slots__ = ("_head_deadline", "_last_payload")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._last_payload: Any = None  # the body of the request parsed last

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._upgraded or self._payload_parser is not None:
            super().data_received(data)
            return
        # Bytes that arrive while no request body is being read start a request head.
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
        log.debug("request head not complete in time; closing", peer=str(transport.get_extra_info("peername")))
        if not self._request_in_progress:
            transport.write(_raw_json_response(
                408, "Request Timeout", f"request headers not received within {HEADERS_TIMEOUT_S:g} s", "request_timeout",
            ))
        self.force_close()  # closes the transport after the answer leaves
        self._loop.call_later(ABORT_AFTER_S, transport.abort)

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """Bad HTTP (aiohttp's 400s) and handler failures: JSON, one log line, no traceback for a
        client's mistake; a 500 is our bug and logs its traceback."""
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        if status >= 500:
            tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
            log.error("request handler failed", path=str(getattr(request, "path", "?")), error=repr(exc), traceback=tb)
            resp = json_error(status, "internal error", "api_error")
        else:
            why = message or (str(exc) if exc is not None else "") or "bad request"
            log.debug("bad HTTP request", status=status, error=why[:200], peer=str(request.remote))
            resp = json_error(status, f"bad request: {why[:200]}", "invalid_request_error")
        resp.force_close()
        return resp


class GatewayServer(web.Server):
    def __call__(self) -> GatewayRequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose connections are GatewayRequestHandlers. An idle keep-alive connection is
    closed after KEEPALIVE_TIMEOUT_S (aiohttp's own default is an hour)."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", KEEPALIVE_TIMEOUT_S)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        return GatewayServer(
            base.request_handler, request_factory=base.request_factory, handler_cancellation=base.handler_cancellation,
            loop=base._loop, **base._kwargs,
        )
