"""`config.get`, `config.apply`, `config.patch` (admin): done by the supervisor, which owns the file
and its reload; a successful write is broadcast as `config.changed {path, hash, ts}`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc.errors import ShapedError

from ..caller import Connection
from .params import Empty, decode

if TYPE_CHECKING:
    from ..services import Services


class ConfigWriteParams(msgspec.Struct, forbid_unknown_fields=True):
    raw: str
    baseHash: str | None = None
    sessionKey: str | None = None
    deliveryContext: Any = None
    note: str | None = None
    restartDelayMs: int | None = None
    replacePaths: list[str] | None = None


async def config_get(svc: Services, conn: Connection, raw: bytes) -> bytes:
    decode(raw, Empty, "config.get")
    return await svc.supervisor.config_get()


async def _write(svc: Services, raw: bytes, mode: str) -> bytes:
    method = f"config.{mode}"
    p = decode(raw, ConfigWriteParams, method)
    reply = await svc.supervisor.config_write(mode, p.raw, p.baseHash, p.note)
    if reply.error is not None:
        raise ShapedError(reply.error)
    payload = reply.payload or b"{}"
    done = msgspec.json.decode(payload)
    event = {"path": done.get("path"), "hash": done.get("hash"), "ts": int(time.time() * 1000)}
    svc.hub.broadcast("config.changed", msgspec.json.encode(event))
    return payload


async def config_apply(svc: Services, conn: Connection, raw: bytes) -> bytes:
    return await _write(svc, raw, "apply")


async def config_patch(svc: Services, conn: Connection, raw: bytes) -> bytes:
    return await _write(svc, raw, "patch")
