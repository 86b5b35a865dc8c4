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

import traceback
from typing import Any

from aiohttp import web
from openclaw.ipc.http_bounded import BoundedRequestHandler, bounded_runner
from openclaw.ipc.logs import get_logger

KEEPALIVE_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 512
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


class CanvasRequestHandler(BoundedRequestHandler):
    """aiohttp's per-connection protocol with the head deadline and the connection cap
    (ipc/http_bounded.py) and quiet errors."""

    max_connections = MAX_CONNECTIONS

    def deadline_answer(self) -> bytes:
        return raw_text_response(408, "Request Timeout", "Request Timeout")

    def overload_answer(self) -> bytes:
        log.warn("too many canvas connections; refusing one", limit=MAX_CONNECTIONS)
        return raw_text_response(503, "Service Unavailable", "Too Many Connections")

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


CanvasRunner = bounded_runner(CanvasRequestHandler, KEEPALIVE_TIMEOUT_S)
