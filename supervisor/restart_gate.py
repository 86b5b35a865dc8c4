"""Whether a restart *request* (gateway.restart.request) restarts the gateway or joins a restart, as a table.

A restart request arriving while a restart is under way, or within the cooldown after one
began (upstream: 30 s), is coalesced: it is answered ok with the generation that serves it,
and starts nothing. So no number of requests restarts the gateway more than once per
cooldown: restart storms cannot come from the API.

    phase          outside the cooldown    within the cooldown
    serving        RESTART                 JOIN_RECENT  (the generation that served it)
    restarting     JOIN_PENDING            JOIN_PENDING (the generation starting now)
    stopping       REFUSE                  REFUSE

Signals are the operator's own hand and are not gated: SIGUSR1/SIGUSR2 restart at once,
cooldown or not, and only join a restart already under way. Every restart, signalled or
requested, starts the cooldown.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass

COOLDOWN_S = float(os.environ.get("OPENCLAW_RESTART_COOLDOWN_MS", "30000")) / 1000


class Phase(str, enum.Enum):
    SERVING = "serving"
    RESTARTING = "restarting"
    STOPPING = "stopping"


class Outcome(str, enum.Enum):
    RESTART = "restart"
    JOIN_PENDING = "join-pending"
    JOIN_RECENT = "join-recent"
    REFUSE = "refuse"


_P, _O = Phase, Outcome
TABLE: dict[tuple[Phase, bool], Outcome] = {
    (_P.SERVING, False): _O.RESTART,
    (_P.SERVING, True): _O.JOIN_RECENT,
    (_P.RESTARTING, False): _O.JOIN_PENDING,
    (_P.RESTARTING, True): _O.JOIN_PENDING,
    (_P.STOPPING, False): _O.REFUSE,
    (_P.STOPPING, True): _O.REFUSE,
}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    generation: int  # the generation that serves (or will serve) the request
    cooldown_ms: int  # what is left of the cooldown: `cooldownMsApplied`

    @property
    def coalesced(self) -> bool:
        return self.outcome in (Outcome.JOIN_PENDING, Outcome.JOIN_RECENT)


class RestartGate:
    def __init__(self, clock: Callable[[], float], cooldown_s: float = COOLDOWN_S) -> None:
        self.clock = clock
        self.cooldown_s = cooldown_s
        self.last_start: float | None = None

    def started(self) -> None:
        """A restart began (whatever asked for it): the cooldown runs from now."""
        self.last_start = self.clock()

    def remaining_ms(self) -> int:
        if self.last_start is None:
            return 0
        return max(0, int((self.last_start + self.cooldown_s - self.clock()) * 1000))

    def decide(self, phase: Phase, generation: int) -> Decision:
        """`generation` is the current one (already counting a restart under way)."""
        left = self.remaining_ms()
        outcome = TABLE[(phase, left > 0)]
        serving = generation + 1 if outcome is Outcome.RESTART else generation
        return Decision(outcome, serving, left)
