"""Restart delays: exponential with jitter and a cap, reset after a stable run (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    initial_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.2  # +-20 %
    stable_after_s: float = 60.0
    failures: int = 0

    def next_delay(self, uptime_s: float, rng: random.Random | None = None) -> float:
        """Delay before restarting a child that just exited after `uptime_s` of running."""
        if uptime_s >= self.stable_after_s:
            self.failures = 0
        base = min(self.cap_s, self.initial_s * (self.factor ** self.failures))
        self.failures += 1
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))
