"""The set of open connections: broadcasts (scope-filtered), the global tick, and drain."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from openclaw.ipc import frames, scopes

if TYPE_CHECKING:
    from .session import Session

# Events every authenticated connection receives; anything else needs operator.read.
PUBLIC_EVENTS = frozenset({"tick", "health", "presence", "heartbeat", "shutdown"})


class Hub:
    def __init__(self, tick_interval_ms: int) -> None:
        self.sessions: set[Session] = set()
        self.tick_interval_s = tick_interval_ms / 1000
        self._tick_task: asyncio.Task[None] | None = None

    def add(self, session: Session) -> None:
        self.sessions.add(session)

    def remove(self, session: Session) -> None:
        self.sessions.discard(session)

    def broadcast(self, event: str, payload: bytes, state_version: dict[str, int] | None = None) -> None:
        prefix = frames.event_prefix(event, payload, state_version)
        public = event in PUBLIC_EVENTS
        for s in list(self.sessions):
            if public or (s.role == "operator" and scopes.satisfies(s.scopes, scopes.READ)):
                s.send_event(prefix)

    def start_ticks(self) -> None:
        self._tick_task = asyncio.get_running_loop().create_task(self._ticks(), name="tick")

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_s)
            self.broadcast("tick", b'{"ts":' + str(int(time.time() * 1000)).encode() + b"}")

    async def shutdown_all(self, reason: str, restart_expected_ms: int | None, timeout_s: float = 2.0) -> None:
        """Every client gets `shutdown`, then close 1012; bounded by `timeout_s`."""
        if self._tick_task:
            self._tick_task.cancel()
        payload: dict[str, object] = {"reason": reason}
        if restart_expected_ms is not None:
            payload["restartExpectedMs"] = restart_expected_ms
        self.broadcast("shutdown", frames.encode(payload))
        sessions = list(self.sessions)
        closers = [s.ws.close(code=1012, message=b"service restart") for s in sessions]
        if closers:
            done, pending = await asyncio.wait([asyncio.ensure_future(c) for c in closers], timeout=timeout_s)
            for task in pending:
                task.cancel()
            for s in sessions:
                if s.transport is not None and not s.transport.is_closing():
                    s.transport.abort()
