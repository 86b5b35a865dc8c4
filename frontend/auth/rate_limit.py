"""Failed-authentication limiter (field-reports §3, S1; `gateway.auth.rateLimit`).

Per client key (the peer IP, or the forwarded client IP behind a trusted proxy; browsers are keyed
by IP + Origin): after `maxAttempts` wrong credentials within `windowMs` the key is locked out for
`lockoutMs` and every attempt is answered AUTH_RATE_LIMITED with `retryAfterMs`, without looking
at the credential. Loopback keys are exempt from the lockout by default (`exemptLoopback`) and get
a progressive delay instead: past `maxAttempts` failures each further attempt waits its turn, one
every 0.25 s, 0.5 s, 1 s ... 5 s, however many connections it comes from (an attempt that would
wait longer than 5 s is answered AUTH_RATE_LIMITED at once). Browser-origin
connections are never exempt. At most MAX_KEYS keys are kept (least recently used goes first).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

MAX_KEYS = 10_000
EXEMPT_BASE_DELAY_S = 0.25
EXEMPT_MAX_DELAY_S = 5.0


@dataclass(frozen=True)
class Limits:
    max_attempts: int = 10
    window_ms: int = 60_000
    lockout_ms: int = 300_000
    exempt_loopback: bool = True

    @classmethod
    def from_config(cls, section: Any) -> Limits:
        d = cls()
        if not isinstance(section, dict):
            return d

        def num(key: str, default: int, lo: int) -> int:
            v = section.get(key)
            return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= lo else default

        exempt = section.get("exemptLoopback")
        return cls(
            max_attempts=num("maxAttempts", d.max_attempts, 1),
            window_ms=num("windowMs", d.window_ms, 1),
            lockout_ms=num("lockoutMs", d.lockout_ms, 0),
            exempt_loopback=exempt if isinstance(exempt, bool) else d.exempt_loopback,
        )


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)  # monotonic times of recent failures
    locked_until: float = 0.0
    next_turn: float = 0.0  # exempt keys: when the next attempt may be judged
    turns: deque[float] = field(default_factory=deque)  # exempt keys: attempts waiting their turn


class RateLimited(Exception):
    def __init__(self, retry_after_ms: int) -> None:
        super().__init__(f"retry after {retry_after_ms} ms")
        self.retry_after_ms = retry_after_ms


class AuthRateLimiter:
    def __init__(self, limits: Limits | None = None, max_keys: int = MAX_KEYS) -> None:
        self.limits = limits or Limits()
        self.max_keys = max_keys
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.locked_out = 0  # attempts refused, for diagnostics

    def __len__(self) -> int:
        return len(self._entries)

    def _recent(self, entry: _Entry, now: float) -> int:
        horizon = now - self.limits.window_ms / 1000
        f = entry.failures
        while f and f[0] < horizon:
            f.popleft()
        return len(f)

    def admit(self, key: str, exempt: bool, now: float | None = None) -> float:
        """Before judging a credential: raise RateLimited, or return how long to wait first (s)."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        now = time.monotonic() if now is None else now
        self._entries.move_to_end(key)
        if not exempt:
            if entry.locked_until > now:
                self.locked_out += 1
                raise RateLimited(int((entry.locked_until - now) * 1000) + 1)
            return 0.0
        turns = entry.turns
        while turns and turns[0] <= now:
            turns.popleft()
        over = self._recent(entry, now) + len(turns) - self.limits.max_attempts
        if over < 0:
            return 0.0
        delay = min(EXEMPT_BASE_DELAY_S * (2 ** min(over, 16)), EXEMPT_MAX_DELAY_S)
        turn = max(now, entry.next_turn) + delay
        if turn - now > EXEMPT_MAX_DELAY_S:  # the queue is full: answer now rather than hold the socket
            self.locked_out += 1
            raise RateLimited(int((turn - now) * 1000) + 1)
        entry.next_turn = turn
        turns.append(turn)
        return turn - now

    def failed(self, key: str, exempt: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        entry.failures.append(now)
        if len(entry.failures) > self.limits.max_attempts * 4:
            entry.failures.popleft()
        if not exempt and self._recent(entry, now) >= self.limits.max_attempts:
            entry.locked_until = now + self.limits.lockout_ms / 1000
            entry.failures.clear()

    def succeeded(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.locked_until <= time.monotonic():
            del self._entries[key]
