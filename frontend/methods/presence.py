"""`system-presence` and `system-event`: who is here, as an array of entries.

The gateway's own entry has mode "gateway", reason "self". Connected clients
(other than short-lived CLI/probe connections) appear on connect and leave on
disconnect; `system-event` upserts an entry. Changes are pushed, debounced, as
`presence` events carrying stateVersion.
"""

from __future__ import annotations

import asyncio
import platform
import socket
import time
from typing import TYPE_CHECKING, Any

import msgspec
import psutil

from openclaw.ipc.errors import invalid_request

from .params import decode

if TYPE_CHECKING:
    from ..context import Frontend
    from ..ws.session import Session

DEBOUNCE_S = 0.05
TRANSIENT_MODES = frozenset({"cli", "probe"})


def _host_ip() -> str:
    """The first non-loopback IPv4 of this host (read from interfaces, nothing is sent)."""
    try:
        for addrs in psutil.net_if_addrs().values():
            for a in addrs:
                if a.family == socket.AF_INET and not a.address.startswith("127."):
                    return a.address
    except OSError:
        pass
    return "127.0.0.1"


def _now_ms() -> int:
    return int(time.time() * 1000)


class PresenceRegistry:
    def __init__(self, fe: Frontend) -> None:
        self.fe = fe
        self.version = 1
        host = socket.gethostname()
        ip = _host_ip()
        version = fe.version
        plat = f"{platform.system().lower()} {platform.release()}"
        self.self_entry: dict[str, Any] = {
            "host": host,
            "ip": ip,
            "version": version,
            "platform": plat,
            "deviceFamily": platform.system(),
            "mode": "gateway",
            "reason": "self",
            "instanceId": fe.instance_id,
            "text": f"Gateway: {host} ({ip}) · app {version} · mode gateway · reason self",
            "ts": _now_ms(),
        }
        self.entries: dict[str, dict[str, Any]] = {}
        self._encoded: bytes | None = None
        self._scheduled: asyncio.TimerHandle | None = None

    def list(self) -> list[dict[str, Any]]:
        return [self.self_entry, *self.entries.values()]

    def encoded(self) -> bytes:
        if self._encoded is None:
            self._encoded = msgspec.json.encode(self.list())
        return self._encoded

    def _changed(self) -> None:
        self.version += 1
        self._encoded = None
        if self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_later(DEBOUNCE_S, self._broadcast)

    def _broadcast(self) -> None:
        self._scheduled = None
        self.fe.hub.broadcast("presence", b'{"presence":' + self.encoded() + b"}", self.fe.state_version())

    def client_connected(self, session: Session) -> None:
        c = session.client
        if c is None or c.mode in TRANSIENT_MODES:
            return
        key = c.instanceId or session.conn_id
        now = _now_ms()
        entry = {
            "host": c.displayName or c.id,
            "clientId": c.id,
            "mode": c.mode,
            "version": c.version,
            "platform": c.platform,
            "deviceFamily": c.deviceFamily,
            "instanceId": c.instanceId,
            "roles": [session.role],
            "scopes": session.scopes,
            "reason": "connect",
            "onlineSince": now,
            "ts": now,
            "text": f"{'Node' if session.role == 'node' else 'Client'}: {c.displayName or c.id} · mode {c.mode}",
        }
        self.entries[key] = {k: v for k, v in entry.items() if v is not None}
        session.presence_key = key
        self._changed()

    def client_disconnected(self, session: Session) -> None:
        if session.presence_key and self.entries.pop(session.presence_key, None) is not None:
            self._changed()

    def upsert(self, key: str, fields: dict[str, Any]) -> None:
        entry = self.entries.get(key, {})
        entry.update({k: v for k, v in fields.items() if v is not None})
        entry["ts"] = _now_ms()
        self.entries[key] = entry
        self._changed()


def system_presence(fe: Frontend, session: Session, raw: bytes) -> bytes:
    return fe.presence.encoded()


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


def system_event(fe: Frontend, session: Session, raw: bytes) -> bytes:
    p = decode(raw, SystemEventParams, "system-event")
    if not p.text.strip():
        raise invalid_request("invalid system-event params: at /text: must NOT have fewer than 1 characters")
    key = p.instanceId or p.deviceId or p.host or (session.client.instanceId if session.client else None) or session.conn_id
    fields = msgspec.structs.asdict(p)
    for k in ("idempotencyKey", "sessionKey", "wake"):
        fields.pop(k)
    fields["reason"] = p.reason or "system-event"
    fe.presence.upsert(key, fields)
    fe.log.info("system event", text=p.text[:200], key=key)
    return b'{"ok":true}'
