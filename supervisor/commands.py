"""Everything the supervisor loop reacts to, as one queue of typed commands."""

from __future__ import annotations

from dataclasses import dataclass

from openclaw.ipc.control import ChildToSupervisor


@dataclass(frozen=True)
class SignalReceived:
    signum: int


@dataclass(frozen=True)
class ChildExited:
    name: str
    pid: int
    returncode: int


@dataclass(frozen=True)
class RespawnDue:
    name: str
    generation: int


@dataclass(frozen=True)
class ControlMessage:
    identity: bytes
    message: ChildToSupervisor


@dataclass(frozen=True)
class Tick:
    """Periodic housekeeping (hung-child detection)."""


Command = SignalReceived | ChildExited | RespawnDue | ControlMessage | Tick
