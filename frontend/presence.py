"""Who is here: the gateway's own entry (mode "gateway", reason "self"), connected clients, and
entries upserted by `system-event`. Changes are pushed, debounced, as `presence` events.

Bounded: at most MAX_ENTRIES entries (the oldest upserted one goes first), each at most
MAX_ENTRY_BYTES encoded (system-event refuses more; fields from `connect` are cut to the same
sizes), so the whole list, sent with every change, stays under 4.1 MiB.
"""

from __future__ import annotations

import asyncio
import platform
import socket
import time
from collections.abc import Callable
from typing import Any

import msgspec
import psutil

from .caller import Connection

DEBOUNCE_S = 0.05
TRANSIENT_MODES = frozenset({"cli", "probe"})
MAX_ENTRIES = 256
MAX_TEXT = 4096  # characters
MAX_FIELD = 256
MAX_LIST = 32
MAX_ITEM = 64  # characters of one list item
MAX_ENTRY_BYTES = 16 * 1024


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


def bounded(value: Any, limit: int = MAX_FIELD) -> Any:
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, list):
        return [bounded(v, MAX_ITEM) for v in value[:MAX_LIST]]
    return value


class PresenceRegistry:
    def __init__(self, version: str, instance_id: str, broadcast: Callable[[bytes], None]) -> None:
        self.version = 1
        self.broadcast = broadcast
        host, ip = socket.gethostname(), _host_ip()
        self.self_entry: dict[str, Any] = {
            "host": host,
            "ip": ip,
            "version": version,
            "platform": f"{platform.system().lower()} {platform.release()}",
            "deviceFamily": platform.system(),
            "mode": "gateway",
            "reason": "self",
            "instanceId": instance_id,
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
            self._scheduled = asyncio.get_running_loop().call_later(DEBOUNCE_S, self._push)

    def _push(self) -> None:
        self._scheduled = None
        self.broadcast(b'{"presence":' + self.encoded() + b"}")

    def _put(self, key: str, entry: dict[str, Any]) -> None:
        self.entries.pop(key, None)
        self.entries[key] = entry  # newest last: eviction takes the oldest
        while len(self.entries) > MAX_ENTRIES:
            del self.entries[next(iter(self.entries))]
        self._changed()

    def connected(self, conn: Connection) -> str | None:
        c = conn.client
        if c is None or c.mode in TRANSIENT_MODES:
            return None
        key = bounded(c.instanceId) or conn.conn_id
        now = _now_ms()
        name = bounded(c.displayName or c.id)
        entry = {
            "host": name, "clientId": c.id, "mode": c.mode, "version": bounded(c.version), "platform": bounded(c.platform),
            "deviceFamily": bounded(c.deviceFamily), "instanceId": key if c.instanceId else None, "roles": [conn.principal.role],
            "scopes": list(conn.principal.scopes), "reason": "connect", "onlineSince": now, "ts": now,
            "text": f"{'Node' if conn.principal.role == 'node' else 'Client'}: {name} · mode {c.mode}",
        }
        self._put(key, {k: v for k, v in entry.items() if v is not None})
        return key

    def disconnected(self, key: str | None) -> None:
        if key and self.entries.pop(key, None) is not None:
            self._changed()

    def upsert(self, key: str, fields: dict[str, Any]) -> None:
        entry = dict(self.entries.get(key[:MAX_FIELD], {}))
        for k, v in fields.items():
            if v is not None:
                entry[k] = bounded(v, MAX_TEXT if k == "text" else MAX_FIELD)
        entry["ts"] = _now_ms()
        self._put(key[:MAX_FIELD], entry)
