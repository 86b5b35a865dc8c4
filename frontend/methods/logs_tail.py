"""`logs.tail`: pages of the gateway's JSON-lines log file, by byte cursor."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc.errors import invalid_request, unavailable

from ..caller import Connection
from .params import decode

if TYPE_CHECKING:
    from ..services import Services

DEFAULT_LIMIT = 500
DEFAULT_MAX_BYTES = 250_000


class LogsTailParams(msgspec.Struct, forbid_unknown_fields=True):
    cursor: int | None = None
    limit: int | None = None
    maxBytes: int | None = None


def read_tail(path: str, cursor: int | None, limit: int, max_bytes: int) -> dict[str, Any]:
    out: dict[str, Any] = {"file": path, "cursor": 0, "size": 0, "lines": [], "truncated": False, "reset": False}
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return out
    try:
        size = os.fstat(fd).st_size
        out["size"] = size
        if cursor is not None and cursor > size:  # the file was rotated or truncated
            out["reset"] = True
            cursor = 0
        start = max(0, size - max_bytes) if cursor is None else cursor
        if cursor is not None and size - cursor > max_bytes:
            start = size - max_bytes
            out["skippedBytes"] = start - cursor
            out["truncated"] = True
        data = os.pread(fd, size - start, start)
    finally:
        os.close(fd)
    end = start + len(data)
    if start > 0 and (cursor is None or start != cursor):
        nl = data.find(b"\n")  # drop the partial first line
        data = data[nl + 1 :] if nl >= 0 else b""
        if cursor is None:
            out["truncated"] = True
    last_nl = data.rfind(b"\n")
    complete = data[: last_nl + 1] if last_nl >= 0 else b""
    end = end - (len(data) - len(complete))  # an unfinished last line is read next time
    lines = [ln.decode("utf-8", errors="replace") for ln in complete.split(b"\n") if ln]
    if len(lines) > limit:
        lines = lines[-limit:]
        out["truncated"] = True
    out["lines"] = lines
    out["cursor"] = end
    return out


async def logs_tail(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = decode(raw, LogsTailParams, "logs.tail")
    limit = DEFAULT_LIMIT if p.limit is None else p.limit
    max_bytes = DEFAULT_MAX_BYTES if p.maxBytes is None else p.maxBytes
    if not 1 <= limit <= 5000:
        raise invalid_request("invalid logs.tail params: at /limit: must be >= 1 and <= 5000")
    if not 1 <= max_bytes <= 1_000_000:
        raise invalid_request("invalid logs.tail params: at /maxBytes: must be >= 1 and <= 1000000")
    if p.cursor is not None and p.cursor < 0:
        raise invalid_request("invalid logs.tail params: at /cursor: must be >= 0")
    path = svc.settings.gateway.log_file
    try:  # a file read is blocking I/O: off the loop
        out = await asyncio.to_thread(read_tail, path, p.cursor, limit, max_bytes)
    except OSError as exc:
        raise unavailable(f"cannot read the log file {path}: {exc.strerror or exc}", details={"file": path}) from None
    return msgspec.json.encode(out)
