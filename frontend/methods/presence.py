"""`system-presence` (the presence list) and `system-event` (upsert an entry; admin).

`system-event` params are bounded (text 4,096 characters, other strings 256, lists 32 items of
64, the stored entry 16 KiB encoded) and over-long input is refused with INVALID_REQUEST naming
the field: a client must not be able to make every presence broadcast megabytes, and refusing
tells it, where cutting would store something else than it sent. (Upstream's schema has no such
bounds.) Entries built from `connect` are cut to the same sizes instead (presence.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from openclaw.ipc.errors import invalid_request
from openclaw.ipc.logs import get_logger

from ..caller import Connection
from ..presence import MAX_ENTRY_BYTES, MAX_FIELD, MAX_ITEM, MAX_LIST, MAX_TEXT
from .params import decode

if TYPE_CHECKING:
    from ..services import Services

log = get_logger("gateway")


def system_presence(svc: Services, conn: Connection, raw: bytes) -> bytes:
    return svc.presence.encoded()


Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Field = Annotated[str, msgspec.Meta(max_length=MAX_FIELD)]
Items = Annotated[list[Annotated[str, msgspec.Meta(max_length=MAX_ITEM)]], msgspec.Meta(max_length=MAX_LIST)]


class SystemEventParams(msgspec.Struct, forbid_unknown_fields=True):
    text: Text
    idempotencyKey: Field | None = None
    sessionKey: Field | None = None
    wake: Any = None  # not stored
    deviceId: Field | None = None
    instanceId: Field | None = None
    host: Field | None = None
    ip: Field | None = None
    mode: Field | None = None
    version: Field | None = None
    platform: Field | None = None
    deviceFamily: Field | None = None
    modelIdentifier: Field | None = None
    lastInputSeconds: float | None = None
    reason: Field | None = None
    roles: Items | None = None
    scopes: Items | None = None
    tags: Items | None = None


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
    size = len(msgspec.json.encode(fields))
    if size > MAX_ENTRY_BYTES:
        raise invalid_request(f"invalid system-event params: the entry is {size} bytes encoded; at most {MAX_ENTRY_BYTES}")
    svc.presence.upsert(key, fields)
    log.info("system event", text=p.text[:200], key=key[:200])
    return b'{"ok":true}'
