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
MAX_TOPICS_PER_CONNECTION = 256  # sessions one connection may watch (sessions.messages.subscribe)


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connections: set[Connection] = set()
        self._by_id: dict[str, Connection] = {}
        self._topics: dict[str, set[str]] = {}  # topic -> conn ids subscribed
        self._conn_topics: dict[str, set[str]] = {}  # conn id -> its topics
        self._tick: asyncio.TimerHandle | None = None

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        self._by_id[conn.conn_id] = conn

    def remove(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self._by_id.pop(conn.conn_id, None)
        for topic in self._conn_topics.pop(conn.conn_id, ()):
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(conn.conn_id)
                if not subs:
                    del self._topics[topic]

    def attach(self, conn: Connection) -> None:
        """A connection reached by id only (an HTTP request following a run): no broadcasts."""
        self._by_id[conn.conn_id] = conn

    def detach(self, conn: Connection) -> None:
        self.remove(conn)

    # ------------------------------------------------------------------ topics (a session's run events)

    def subscribe(self, conn_id: str, topic: str, on: bool = True) -> None:
        if conn_id not in self._by_id:
            return  # gone already
        mine = self._conn_topics.setdefault(conn_id, set())
        if on:
            if topic in mine or len(mine) >= MAX_TOPICS_PER_CONNECTION:
                return
            mine.add(topic)
            self._topics.setdefault(topic, set()).add(conn_id)
        elif topic in mine:
            mine.discard(topic)
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(conn_id)
                if not subs:
                    del self._topics[topic]

    def publish(self, topic: str, conn_id: str, event: str, payload: bytes) -> None:
        """`event` to the subscribers of `topic` and to `conn_id`, each once, with its own seq."""
        needed = policy.event_scope(event)
        if needed is None:
            return
        targets = set(self._topics.get(topic, ())) if topic else set()
        if conn_id:
            targets.add(conn_id)
        if not targets:
            return
        prefix = frames.event_prefix(event, payload)
        for cid in targets:
            c = self._by_id.get(cid)
            if c is not None and policy.may_receive(c.principal, needed):
                c.send_event(prefix)

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
