"""One supervised child: its state machine, written out as a table (pure; clock injected)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .backoff import Backoff


class ChildState(str, enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"  # spawned, not yet Ready
    RUNNING = "running"  # reported Ready
    STOPPING = "stopping"  # asked to stop, waiting for exit
    BACKOFF = "backoff"  # exited unexpectedly, restart scheduled


class ChildEvent(str, enum.Enum):
    SPAWN = "spawn"
    READY = "ready"
    STOP = "stop"
    EXIT = "exit"
    RESPAWN_DUE = "respawn-due"


_S, _E = ChildState, ChildEvent
TRANSITIONS: dict[tuple[ChildState, ChildEvent], ChildState] = {
    (_S.STOPPED, _E.SPAWN): _S.STARTING,
    (_S.BACKOFF, _E.RESPAWN_DUE): _S.STARTING,
    (_S.BACKOFF, _E.STOP): _S.STOPPED,
    (_S.STARTING, _E.READY): _S.RUNNING,
    (_S.STARTING, _E.EXIT): _S.BACKOFF,
    (_S.STARTING, _E.STOP): _S.STOPPING,
    (_S.RUNNING, _E.EXIT): _S.BACKOFF,
    (_S.RUNNING, _E.STOP): _S.STOPPING,
    (_S.STOPPING, _E.EXIT): _S.STOPPED,
    (_S.STOPPING, _E.STOP): _S.STOPPING,
    (_S.STOPPED, _E.STOP): _S.STOPPED,
}


class IllegalTransition(Exception):
    pass


@dataclass
class Child:
    name: str
    role: str  # "frontend" | "worker"
    module: str
    state: ChildState = ChildState.STOPPED
    pid: int | None = None
    restarts: int = 0
    started_at: float | None = None  # monotonic
    last_heartbeat: float | None = None
    last_exit: str | None = None
    backoff: Backoff = field(default_factory=Backoff)

    def transition(self, event: ChildEvent) -> ChildState:
        new = TRANSITIONS.get((self.state, event))
        if new is None:
            raise IllegalTransition(f"{self.name}: {event.value} not allowed in {self.state.value}")
        self.state = new
        return new

    def can(self, event: ChildEvent) -> bool:
        return (self.state, event) in TRANSITIONS

    def uptime(self, now: float) -> float:
        return 0.0 if self.started_at is None else now - self.started_at
