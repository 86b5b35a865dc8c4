"""`logs.tail`: pages of the gateway's JSON-lines log stream, by cursor (ipc/log_tail.py).

The stream is today's file and the ones before it (rotated by size, previous days), so a
cursor keeps its place when the file rotates under it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from openclaw.ipc import log_files
from openclaw.ipc.errors import invalid_request, unavailable
from openclaw.ipc.log_tail import DEFAULT_LIMIT, DEFAULT_MAX_BYTES, MAX_BYTES, MAX_LIMIT, read_page

from ..caller import Connection
from .params import decode

if TYPE_CHECKING:
    from ..services import Services


class LogsTailParams(msgspec.Struct, forbid_unknown_fields=True):
    cursor: int | None = None
    limit: int | None = None
    maxBytes: int | None = None


async def logs_tail(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = decode(raw, LogsTailParams, "logs.tail")
    limit = DEFAULT_LIMIT if p.limit is None else p.limit
    max_bytes = DEFAULT_MAX_BYTES if p.maxBytes is None else p.maxBytes
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_request(f"invalid logs.tail params: at /limit: must be >= 1 and <= {MAX_LIMIT}")
    if not 1 <= max_bytes <= MAX_BYTES:
        raise invalid_request(f"invalid logs.tail params: at /maxBytes: must be >= 1 and <= {MAX_BYTES}")
    if p.cursor is not None and p.cursor < 0:
        raise invalid_request("invalid logs.tail params: at /cursor: must be >= 0")
    g = svc.settings.gateway
    path = log_files.active_file(Path(g.log_file), g.log_rolling)
    try:  # file reads are blocking I/O: off the loop
        out = await asyncio.to_thread(read_page, path, g.log_rolling, p.cursor, limit, max_bytes)
    except OSError as exc:
        raise unavailable(f"cannot read the log file {path}: {exc.strerror or exc}", details={"file": str(path)}) from None
    return msgspec.json.encode(out)
