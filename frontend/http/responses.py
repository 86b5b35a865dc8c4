"""JSON responses and the security headers every HTTP answer carries."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import HttpVersion11, web

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    h = {"Cache-Control": "no-store", **SECURITY_HEADERS}
    if headers:
        h.update(headers)
    return web.Response(
        body=msgspec.json.encode(body), status=status, headers=h, content_type="application/json", charset="utf-8"
    )


def json_error(status: int, message: str, type_: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_response({"error": {"message": message, "type": type_}}, status=status, headers=headers)


async def expect_handler(request: web.Request) -> web.StreamResponse | None:
    """The `Expect` header, answered like every other error (JSON, security headers): aiohttp's own
    handler answers anything but `100-continue` with a text/plain 417, before any middleware."""
    if request.version != HttpVersion11:
        return None
    if request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size -= 25  # as aiohttp's own handler: not part of the response's size
        return None
    return json_error(417, "Expectation Failed", "expectation_failed", headers=dict(SECURITY_HEADERS))
