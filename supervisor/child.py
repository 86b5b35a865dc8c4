"""One supervised child (a *slot*: "agent", "channel:telegram"): its state machine as a table.

Every state change goes through `Child.fire`, which checks the table and logs the edge;
nothing sets `state` directly. A slot owns at most one current process, one successor
(during a blue/green replacement) and any number of retiring ones.

    STOPPED --start--> STARTING --ready--> RUNNING --replace--> REPLACING --replaced--> RUNNING
    STARTING|RUNNING --crashed--> BACKOFF --respawn--> STARTING
    STARTING|RUNNING --gave-up--> FATAL --retry--> BACKOFF      (config change, gateway.restart)
    REPLACING --replace-failed--> RUNNING (the old process keeps serving)
    REPLACING --crashed--> STARTING (the old one died: the successor is all there is)
    any --stop--> STOPPING --exited--> STOPPED   (BACKOFF and FATAL stop at once)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw.ipc.logs import get_logger

from .policy import CrashPolicy

if TYPE_CHECKING:
    from .runner import ChildProcess
    from .specs import ChildSpec

log = get_logger("supervisor/child")


class ChildState(str, enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"  # spawned, not yet Ready
    RUNNING = "running"  # reported Ready
    REPLACING = "replacing"  # running; a successor is starting (blue/green)
    BACKOFF = "backoff"  # exited unexpectedly, restart scheduled
    STOPPING = "stopping"  # asked to stop, waiting for exit
    FATAL = "fatal"  # gave up: crash loop or refused by configuration (exit 78)


class ChildEvent(str, enum.Enum):
    START = "start"
    READY = "ready"
    CRASHED = "crashed"
    GAVE_UP = "gave-up"
    RESPAWN = "respawn"
    RETRY = "retry"  # a deliberate retry (config change, restart): respawn as soon as the cap allows
    REPLACE = "replace"
    REPLACED = "replaced"
    REPLACE_FAILED = "replace-failed"
    STOP = "stop"
    EXITED = "exited"


_S, _E = ChildState, ChildEvent
TRANSITIONS: dict[tuple[ChildState, ChildEvent], ChildState] = {
    (_S.STOPPED, _E.START): _S.STARTING,
    (_S.STOPPED, _E.STOP): _S.STOPPED,
    (_S.STARTING, _E.READY): _S.RUNNING,
    (_S.STARTING, _E.CRASHED): _S.BACKOFF,
    (_S.STARTING, _E.GAVE_UP): _S.FATAL,
    (_S.STARTING, _E.STOP): _S.STOPPING,
    (_S.RUNNING, _E.CRASHED): _S.BACKOFF,
    (_S.RUNNING, _E.GAVE_UP): _S.FATAL,
    (_S.RUNNING, _E.REPLACE): _S.REPLACING,
    (_S.RUNNING, _E.STOP): _S.STOPPING,
    (_S.REPLACING, _E.REPLACED): _S.RUNNING,
    (_S.REPLACING, _E.REPLACE_FAILED): _S.RUNNING,
    (_S.REPLACING, _E.CRASHED): _S.STARTING,
    (_S.REPLACING, _E.STOP): _S.STOPPING,
    (_S.BACKOFF, _E.RESPAWN): _S.STARTING,
    (_S.BACKOFF, _E.RETRY): _S.BACKOFF,
    (_S.BACKOFF, _E.STOP): _S.STOPPED,
    (_S.STOPPING, _E.EXITED): _S.STOPPED,
    (_S.STOPPING, _E.STOP): _S.STOPPING,
    (_S.FATAL, _E.RETRY): _S.BACKOFF,
    (_S.FATAL, _E.STOP): _S.STOPPED,
}


class IllegalTransition(Exception):
    pass


@dataclass
class Child:
    spec: ChildSpec
    policy: CrashPolicy = field(default_factory=CrashPolicy)
    state: ChildState = ChildState.STOPPED
    current: ChildProcess | None = None
    successor: ChildProcess | None = None
    retiring: list[ChildProcess] = field(default_factory=list)
    spawns: int = 0  # numbers instances: agent.1, agent.2, ...
    restarts: int = 0  # unexpected exits
    last_exit: str | None = None
    reason: str | None = None  # why it backs off / is fatal
    stale: bool = False  # config changed while STARTING: replace it once Ready
    timer_token: int = 0  # bumps on every transition, so old timers are ignored

    def __post_init__(self) -> None:
        if self.spec.optional:
            self.policy = CrashPolicy.optional()

    @property
    def name(self) -> str:
        return self.spec.name

    def can(self, event: ChildEvent) -> bool:
        return (self.state, event) in TRANSITIONS

    def fire(self, event: ChildEvent) -> ChildState:
        new = TRANSITIONS.get((self.state, event))
        if new is None:
            raise IllegalTransition(f"{self.name}: {event.value} is not allowed in {self.state.value}")
        if new is not self.state:
            log.info(f"{self.name}: {self.state.value} -> {new.value}", child=self.name, event=event.value)
        self.state = new
        self.timer_token += 1
        return new

    def processes(self) -> list[ChildProcess]:
        return [p for p in (self.current, self.successor, *self.retiring) if p is not None]

    def find(self, instance: str) -> ChildProcess | None:
        for p in self.processes():
            if p.instance == instance:
                return p
        return None

    def next_instance(self) -> str:
        self.spawns += 1
        return f"{self.name}.{self.spawns}"
