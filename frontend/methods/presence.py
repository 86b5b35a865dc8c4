"""`system-presence` (the presence list) and `system-event` (upsert an entry; admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc.errors import invalid_request
from openclaw.ipc.logs import get_logger

from ..caller import Connection
from .params import decode

if TYPE_CHECKING:
    from ..services import Services

log = get_logger("gateway")


def system_presence(svc: Services, conn: Connection, raw: bytes) -> bytes:
    return svc.presence.encoded()


class SystemEventParams(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    idempotencyKey: str | None = None
    sessionKey: str | None = None
    wake: Any = None
    deviceId: str | None = None
    instanceId: str | None = None
    host: str | None = None
    ip: str | None = None
    mode: str | None = None
    version: str | None = None
    platform: str | None = None
    deviceFamily: str | None = None
    modelIdentifier: str | None = None
    lastInputSeconds: float | None = None
    reason: str | None = None
    roles: list[str] | None = None
    scopes: list[str] | None = None
    tags: list[str] | None = None


def system_event(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = decode(raw, SystemEventParams, "system-event")
    if not p.text.strip():
        raise invalid_request("invalid system-event params: at /text: must NOT have fewer than 1 characters")
    own = conn.client.instanceId if conn.client else None
    key = p.instanceId or p.deviceId or p.host or own or conn.conn_id
    fields = msgspec.structs.asdict(p)
    for k in ("idempotencyKey", "sessionKey", "wake"):
        fields.pop(k)
    fields["reason"] = p.reason or "system-event"
    svc.presence.upsert(key, fields)
    log.info("system event", text=p.text[:200], key=key[:200])
    return b'{"ok":true}'
