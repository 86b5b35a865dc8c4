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
from openclaw.ipc.http_bounded import HEADERS_TIMEOUT_S, BoundedRequestHandler, bounded_runner
from openclaw.ipc.logs import get_logger

from .responses import SECURITY_HEADERS, json_error

log = get_logger("gateway/http")
KEEPALIVE_TIMEOUT_S = 75.0
__all__ = ["HEADERS_TIMEOUT_S", "GatewayRunner"]


def _raw_json_response(status: int, reason: str, message: str, type_: str) -> bytes:
    body = msgspec.json.encode({"error": {"message": message, "type": type_}})
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(body)}", "Cache-Control: no-store", "Connection: close"]
    head += [f"{k}: {v}" for k, v in SECURITY_HEADERS.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class GatewayRequestHandler(BoundedRequestHandler):
    """aiohttp's per-connection protocol with the header deadline (ipc/http_bounded.py) and quiet JSON errors."""

    def deadline_answer(self) -> bytes:
        return _raw_json_response(
            408, "Request Timeout", f"request headers not received within {HEADERS_TIMEOUT_S:g} s", "request_timeout",
        )

    def on_deadline_missed(self, transport: asyncio.BaseTransport) -> None:
        log.debug("request head not complete in time; closing", peer=str(transport.get_extra_info("peername")))

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


# An AppRunner whose connections are GatewayRequestHandlers; an idle keep-alive connection is closed
# after KEEPALIVE_TIMEOUT_S.
GatewayRunner = bounded_runner(GatewayRequestHandler, KEEPALIVE_TIMEOUT_S)
