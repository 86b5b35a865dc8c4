"""Supervisor <-> child control messages (msgpack over ROUTER/DEALER).

The supervisor binds a ROUTER at `<runtime>/control.sock`; every child connects a
DEALER with its name as identity. Children say Hello and get Configure back, then
report Ready and heartbeat from their event loop. The front-end also asks the
supervisor for the process table and for restarts here.
"""

from __future__ import annotations

import msgspec

from .config import ResolvedGateway

# ------------------------------------------------------------ child -> supervisor


class ChildHello(msgspec.Struct, tag="hello"):
    name: str
    pid: int
    ipc_version: int


class ChildReady(msgspec.Struct, tag="ready"):
    name: str


class ChildHeartbeat(msgspec.Struct, tag="heartbeat"):
    name: str


class StatusQuery(msgspec.Struct, tag="status-query"):
    query_id: int


class RestartRequest(msgspec.Struct, tag="restart-request"):
    query_id: int
    reason: str


ChildToSupervisor = ChildHello | ChildReady | ChildHeartbeat | StatusQuery | RestartRequest

# ------------------------------------------------------------ supervisor -> child


class Configure(msgspec.Struct, tag="configure"):
    gateway: ResolvedGateway
    boot_id: str
    started_at_ms: int  # wall clock, for display
    supervisor_pid: int
    runtime_dir: str
    workers: list[str]  # the workers the front-end should expect


class ProcessInfo(msgspec.Struct):
    name: str
    role: str  # supervisor | frontend | worker
    pid: int | None
    state: str
    restarts: int
    rss_bytes: int | None
    uptime_ms: int | None
    last_exit: str | None = None


class StatusReply(msgspec.Struct, tag="status-reply"):
    query_id: int
    processes: list[ProcessInfo]
    generation: int  # counts in-process restarts


class RestartAck(msgspec.Struct, tag="restart-ack"):
    query_id: int
    accepted: bool
    generation: int
    delay_ms: int


class Drain(msgspec.Struct, tag="drain"):
    """Front-end: tell clients `shutdown`, close them 1012, stop serving, exit 0."""

    reason: str
    restart_expected_ms: int | None = None


class PeerExited(msgspec.Struct, tag="peer-exited"):
    """A worker died: fail its in-flight calls now rather than at their deadline."""

    name: str


SupervisorToChild = Configure | StatusReply | RestartAck | Drain | PeerExited

_encoder = msgspec.msgpack.Encoder()
encode = _encoder.encode
supervisor_decoder = msgspec.msgpack.Decoder(ChildToSupervisor)
child_decoder = msgspec.msgpack.Decoder(SupervisorToChild)
