"""Everything the supervisor loop reacts to, as one queue of typed commands.

Signal handlers, the reaper, timers, the control socket, the file watcher and the config
thread only *enqueue*; `loop.Supervisor.dispatch` is the single consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

from openclaw.ipc.control import ChildToSupervisor
from openclaw.ipc.errors import ErrorShape

from .config_state import Candidate


@dataclass(frozen=True)
class SignalReceived:
    signum: int


@dataclass(frozen=True)
class ChildExited:
    instance: str
    pid: int
    returncode: int


@dataclass(frozen=True)
class RespawnDue:
    name: str
    token: int  # the child's timer token when scheduled: stale timers are ignored


@dataclass(frozen=True)
class Escalate:
    """A stop or hang deadline passed: send `signum` if the process is still alive."""

    instance: str
    signum: int


@dataclass(frozen=True)
class ControlMessage:
    identity: bytes
    message: ChildToSupervisor


@dataclass(frozen=True)
class ConfigFileChanged:
    forced: bool = False  # SIGHUP: apply even when gateway.reload.mode is off


@dataclass(frozen=True)
class ConfigChecked:
    candidate: Candidate
    purpose: str  # "reload" | "restart"
    forced: bool = False


@dataclass(frozen=True)
class ConfigReplyReady:
    """A config.get / config.apply / config.patch finished in the config thread."""

    identity: bytes
    query_id: int
    write: bool
    payload: bytes | None = None
    error: ErrorShape | None = None
    candidate: Candidate | None = None


@dataclass(frozen=True)
class Tick:
    """Periodic housekeeping: hung and slow-starting children, tree state to the front-end."""


@dataclass(frozen=True)
class WatchdogTick:
    """Time to tell systemd we are alive (only if the front-end is)."""


Command = (
    SignalReceived | ChildExited | RespawnDue | Escalate | ControlMessage | ConfigFileChanged | ConfigChecked
    | ConfigReplyReady | Tick | WatchdogTick
)
