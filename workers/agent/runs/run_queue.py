"""Who may run now: one run at a time per session, in arrival order, and at most
`max_concurrent` runs over all sessions (agents.defaults.maxConcurrent, default 8).

A run calls `await queue.turn(run_id, session_key)` and `queue.done(run_id, session_key)` when it
ends (also when it was cancelled while waiting). Waiting is cancellable: a queued run that is
aborted just leaves the line.
"""

from __future__ import annotations

import asyncio
from collections import deque

DEFAULT_MAX_CONCURRENT = 8


class RunQueue:
    def __init__(self, max_concurrent: int = DEFAULT_MAX_CONCURRENT) -> None:
        self.max_concurrent = max(1, max_concurrent)
        self._lines: dict[str, deque[str]] = {}  # session key -> run ids, head = running or next
        self._running: set[str] = set()
        self._global: deque[tuple[str, asyncio.Future[None]]] = deque()  # heads waiting for a global slot
        self._session_turn: dict[str, asyncio.Future[None]] = {}  # run id -> its session turn

    def ahead_of(self, session_key: str) -> int:
        """Runs already in line for this session (what a new run would wait behind)."""
        return len(self._lines.get(session_key, ()))

    def running(self) -> int:
        return len(self._running)

    async def turn(self, run_id: str, session_key: str) -> None:
        loop = asyncio.get_running_loop()
        line = self._lines.setdefault(session_key, deque())
        line.append(run_id)
        try:
            if line[0] != run_id:
                fut: asyncio.Future[None] = loop.create_future()
                self._session_turn[run_id] = fut
                await fut
            if len(self._running) >= self.max_concurrent:
                gfut: asyncio.Future[None] = loop.create_future()
                self._global.append((run_id, gfut))
                await gfut
            self._running.add(run_id)
        except BaseException:
            self.done(run_id, session_key)
            raise

    def done(self, run_id: str, session_key: str) -> None:
        """The run ended or left the line: the next of its session (and of the global line) may go."""
        self._session_turn.pop(run_id, None)
        was_running = run_id in self._running
        self._running.discard(run_id)
        self._global = deque((r, f) for r, f in self._global if r != run_id)
        line = self._lines.get(session_key)
        if line is not None:
            was_head = bool(line) and line[0] == run_id
            try:
                line.remove(run_id)
            except ValueError:
                pass
            if not line:
                del self._lines[session_key]
            elif was_head:
                nxt = self._session_turn.pop(line[0], None)
                if nxt is not None and not nxt.done():
                    nxt.set_result(None)
        if was_running:
            while self._global and len(self._running) < self.max_concurrent:
                rid, gfut = self._global.popleft()
                if not gfut.done():
                    self._running.add(rid)  # reserved now, so two releases cannot over-admit
                    gfut.set_result(None)
                    break
