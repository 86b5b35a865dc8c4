"""The set of open connections: broadcasts (filtered by frontend/auth/policy), the global tick,
rotation and drain."""

from __future__ import annotations

import asyncio
import time

from openclaw.ipc import frames

from ..auth import policy

from ..caller import Connection
from ..settings import Settings

MAX_CONNECTIONS = 8192


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connections: set[Connection] = set()
        self._by_id: dict[str, Connection] = {}
        self._tick: asyncio.TimerHandle | None = None

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        self._by_id[conn.conn_id] = conn

    def remove(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self._by_id.pop(conn.conn_id, None)

    @property
    def full(self) -> bool:
        return len(self.connections) >= MAX_CONNECTIONS

    def broadcast(self, event: str, payload: bytes, state_version: dict[str, int] | None = None) -> None:
        needed = policy.event_scope(event)
        if needed is None:
            return  # an unknown event family goes to nobody (fail closed)
        prefix = frames.event_prefix(event, payload, state_version)
        for c in list(self.connections):
            if policy.may_receive(c.principal, needed):
                c.send_event(prefix)

    def by_id(self, conn_id: str) -> Connection | None:
        return self._by_id.get(conn_id)

    def start_ticks(self) -> None:
        loop = asyncio.get_running_loop()
        self._tick = loop.call_later(self.settings.gateway.tick_interval_ms / 1000, self._ticked)

    def stop_ticks(self) -> None:
        if self._tick is not None:
            self._tick.cancel()

    def _ticked(self) -> None:
        self.broadcast("tick", b'{"ts":' + str(int(time.time() * 1000)).encode() + b"}")
        self.start_ticks()

    def close_rotated(self, current: bytes | None) -> int:
        """Close (1008) every connection that authenticated with a secret that is no longer it."""
        stale = [c for c in self.connections if c.secret_digest is not None and c.secret_digest != current]
        for c in stale:
            c.close_soon(1008, "credentials rotated")
        return len(stale)
