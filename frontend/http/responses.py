"""JSON responses and the security headers every HTTP answer carries."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

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
