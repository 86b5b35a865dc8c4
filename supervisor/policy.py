"""The crash policy (pure; the caller passes the clock): what to do when a child exits.

- exit 78 (EX_CONFIG) means "do not restart": FATAL at once;
- more than `max_crashes` exits within `window_s` (default 5 in 30 s): FATAL;
- otherwise restart after the backoff delay (0.5 s doubling to 30 s, +-20 % jitter, reset
  after 60 s of stable running), and never more than `max_spawns` starts per `spawn_window_s`
  (12 per minute).
"""

from __future__ import annotations

import enum
import random
from collections import deque
from dataclasses import dataclass, field

from .backoff import Backoff

EX_CONFIG = 78


class Verdict(str, enum.Enum):
    RESTART = "restart"
    FATAL = "fatal"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    delay_s: float = 0.0
    reason: str = ""


@dataclass
class CrashPolicy:
    window_s: float = 30.0
    max_crashes: int = 5
    spawn_window_s: float = 60.0
    max_spawns: int = 12
    backoff: Backoff = field(default_factory=Backoff)
    rng: random.Random | None = None
    crashes: deque[float] = field(default_factory=deque)
    spawns: deque[float] = field(default_factory=deque)

    @classmethod
    def optional(cls) -> CrashPolicy:
        """An optional subsystem (R13): restarted with backoff capped at 60 s, never FATAL for crashing."""
        return cls(max_crashes=1 << 30, backoff=Backoff(cap_s=60.0))

    def record_spawn(self, now: float) -> None:
        self.spawns.append(now)
        while self.spawns and now - self.spawns[0] >= self.spawn_window_s:
            self.spawns.popleft()

    def earliest_spawn(self, at: float) -> float:
        """The first moment, not before `at`, at which a start stays under the spawn-rate cap."""
        recent = [t for t in self.spawns if at - t < self.spawn_window_s]
        if len(recent) < self.max_spawns:
            return at
        return recent[-self.max_spawns] + self.spawn_window_s

    def on_exit(self, now: float, uptime_s: float, exit_code: int) -> Decision:
        if exit_code == EX_CONFIG:
            return Decision(Verdict.FATAL, reason="refused by its configuration (exit 78); not restarted")
        self.crashes.append(now)
        while self.crashes and now - self.crashes[0] > self.window_s:
            self.crashes.popleft()
        if len(self.crashes) > self.max_crashes:
            return Decision(
                Verdict.FATAL,
                reason=f"crash loop: {len(self.crashes)} exits within {self.window_s:.0f}s; not restarted",
            )
        delay = self.backoff.next_delay(uptime_s, self.rng)
        delay = max(delay, self.earliest_spawn(now + delay) - now)
        return Decision(Verdict.RESTART, delay_s=delay, reason=f"restarting in {delay:.1f}s")

    def reset(self) -> None:
        """A deliberate retry (config change, gateway.restart) starts from a clean slate."""
        self.crashes.clear()
        self.backoff.failures = 0
