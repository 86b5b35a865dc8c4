"""Reading a JSON request body under a size cap, with the OpenAI-style errors (brief §5.1)."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from openclaw.ipc.errors import DECODE_ERRORS


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_capped(request: web.Request, cap: int) -> bytes:
    """The whole body, or BodyError(413) as soon as it passes `cap` bytes (Content-Length first)."""
    if request.content_length is not None and request.content_length > cap:
        raise BodyError(413, f"Payload too large (max {cap} bytes)")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                raise BodyError(413, f"Payload too large (max {cap} bytes)")
            chunks.append(chunk)
    except RequestPayloadError as exc:  # a broken Content-Encoding or chunked body: the client's mistake
        raise BodyError(400, f"invalid request body: {str(exc)[:200]}") from None
    return b"".join(chunks)


async def read_json_object(request: web.Request, cap: int) -> dict[str, Any]:
    raw = await read_capped(request, cap)
    try:
        value = msgspec.json.decode(raw) if raw.strip() else None
    except DECODE_ERRORS as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BodyError(400, f"Invalid JSON body: {why}"[:300]) from None
    if not isinstance(value, dict):
        raise BodyError(400, "Request body must be a JSON object")
    return value
