"""The dedupe cache of finished runs: `agent` and `chat.send` share one key space (runId =
idempotencyKey). An entry lives TTL_S after its run ended; beyond MAX_KEYS the oldest goes first
(protocol.md §1: dedupe TTL 300 000 ms, max 1000 entries). Running runs are not in here: the
run table answers `in_flight` for them.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from openclaw.ipc.errors import ErrorShape

TTL_S = 300.0
MAX_KEYS = 1000


def fingerprint(message: str, session_key: str) -> str:
    """What 'the same input' means for a replayed key."""
    return hashlib.sha256(f"{session_key}\0{message}".encode()).hexdigest()


@dataclass
class Finished:
    run_id: str
    session_key: str
    agent_id: str
    fingerprint: str
    payload: dict[str, Any]  # the final res payload
    error: ErrorShape | None  # None: the run succeeded
    wait: dict[str, Any]  # agent.wait's answer
    expires: float


class IdempotencyCache:
    def __init__(self, ttl_s: float = TTL_S, max_keys: int = MAX_KEYS, clock: Any = time.monotonic) -> None:
        self.ttl_s, self.max_keys, self.clock = ttl_s, max_keys, clock
        self._entries: OrderedDict[str, Finished] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def put(self, run_id: str, session_key: str, agent_id: str, fp: str, payload: dict[str, Any],
            error: ErrorShape | None, wait: dict[str, Any]) -> None:
        self._entries.pop(run_id, None)
        self._entries[run_id] = Finished(run_id, session_key, agent_id, fp, payload, error, wait, self.clock() + self.ttl_s)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)

    def get(self, run_id: str) -> Finished | None:
        self._expire()
        return self._entries.get(run_id)

    def _expire(self) -> None:
        now = self.clock()
        while self._entries:
            first = next(iter(self._entries.values()))
            if first.expires > now:
                break
            self._entries.popitem(last=False)
