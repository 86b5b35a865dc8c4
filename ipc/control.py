"""Supervisor <-> child control messages (msgpack over ROUTER/DEALER, `<runtime>/control.sock`).

Every child connects a DEALER whose identity is its instance id (`agent.3`: child name and
spawn number, so an old and a new process of one child are told apart). Lifecycle:

    child: Hello -> supervisor: Configure -> child: Ready, then Heartbeat every 250 ms
    supervisor: ApplyConfig (hot change), Drain (stop taking work, finish, exit 0)

The front-end also asks the supervisor for the process table, restarts and config
reads/writes here, and is told about the tree (TreeState) and lost workers (PeerLost).
"""

from __future__ import annotations

import msgspec

from .config import ResolvedGateway
from .errors import ErrorShape

# ------------------------------------------------------------ child -> supervisor


class ChildHello(msgspec.Struct, tag="hello"):
    name: str
    instance: str
    pid: int
    ipc_version: int


class ChildReady(msgspec.Struct, tag="ready"):
    instance: str


class ChildHeartbeat(msgspec.Struct, tag="heartbeat"):
    instance: str


class ChildBootFailed(msgspec.Struct, tag="boot-failed"):
    """The child cannot start; `reason` is shown to the operator (then the child exits)."""

    instance: str
    reason: str
    exit_code: int = 1


class StatusQuery(msgspec.Struct, tag="status-query"):
    query_id: int


class RestartRequest(msgspec.Struct, tag="restart-request"):
    """`gateway.restart.request`; a `target` names the gateway the caller means (refused if not us)."""

    query_id: int
    reason: str
    target_pid: int | None = None
    target_port: int | None = None


class ConfigQuery(msgspec.Struct, tag="config-query"):
    query_id: int


class ConfigWrite(msgspec.Struct, tag="config-write", kw_only=True):
    """`config.apply` (raw is the whole file) or `config.patch` (raw is a JSON merge patch)."""

    query_id: int
    mode: str  # "apply" | "patch"
    raw: str
    base_hash: str | None = None
    note: str | None = None
    deadline: float | None = None  # CLOCK_MONOTONIC: past it the write is dropped, never applied late


ChildToSupervisor = (
    ChildHello | ChildReady | ChildHeartbeat | ChildBootFailed | StatusQuery | RestartRequest | ConfigQuery | ConfigWrite
)

# ------------------------------------------------------------ supervisor -> child


class Configure(msgspec.Struct, tag="configure", kw_only=True):
    gateway: ResolvedGateway
    config: bytes  # the validated config file as JSON; each child reads its sections
    boot_id: str
    started_at_ms: int  # wall clock, for display
    supervisor_pid: int
    runtime_dir: str
    channel_id: str | None = None  # for a channel worker


class ApplyConfig(msgspec.Struct, tag="apply-config", kw_only=True):
    """A hot change: take the new settings without restarting."""

    gateway: ResolvedGateway
    config: bytes
    paths: list[str]
    rotate_credentials: bool = False  # front-end: close connections that used the old secret


class Drain(msgspec.Struct, tag="drain", kw_only=True):
    """Front-end: `shutdown` to clients, close 1012, exit. Worker: take no new calls, finish, exit."""

    reason: str
    restart_expected_ms: int | None = None
    deadline_ms: int = 5000


class ProcessInfo(msgspec.Struct, kw_only=True):
    name: str
    role: str  # supervisor | frontend | worker
    kind: str  # supervisor | frontend | agent | node | channel
    pid: int | None
    state: str
    restarts: int
    rss_bytes: int | None = None
    uptime_ms: int | None = None
    last_exit: str | None = None
    reason: str | None = None  # why it is fatal / backing off
    channel_id: str | None = None
    optional: bool = False  # an optional subsystem: degraded, not failing, when down (R13)


class ReloadStatus(msgspec.Struct, kw_only=True):
    """What the config watcher knows: shown in `health.configReload` and `status`."""

    mode: str
    status: str = "ok"  # ok | error | off
    path: str
    error: str | None = None
    line: int | None = None
    column: int | None = None
    last_good_hash: str | None = None
    applied_hash: str | None = None
    pending_restart: list[str] = []
    last_change_ms: int | None = None
    last_paths: list[str] = []
    last_actions: list[str] = []


class TreeState(msgspec.Struct, tag="tree-state", kw_only=True):
    """Pushed to the front-end whenever a child changes state or the config is reloaded."""

    processes: list[ProcessInfo]
    generation: int
    reload: ReloadStatus


class PeerLost(msgspec.Struct, tag="peer-lost"):
    """A worker instance died or hung: fail its in-flight calls now, route around it."""

    instance: str
    reason: str  # "exited" | "hung"


class StatusReply(msgspec.Struct, tag="status-reply"):
    query_id: int
    state: TreeState


class RestartAck(msgspec.Struct, tag="restart-ack", kw_only=True):
    """`accepted`: a restart will serve the request (a new one, or one it was coalesced into);
    `generation` is that restart's; `cooldown_ms` what is left of the restart cooldown."""

    query_id: int
    accepted: bool
    generation: int
    delay_ms: int
    error: ErrorShape | None = None
    coalesced: bool = False
    cooldown_ms: int = 0


class ConfigReply(msgspec.Struct, tag="config-reply"):
    query_id: int
    payload: bytes  # JSON


class ConfigWriteReply(msgspec.Struct, tag="config-write-reply", kw_only=True):
    query_id: int
    payload: bytes | None = None  # JSON on success
    error: ErrorShape | None = None


SupervisorToChild = (
    Configure | ApplyConfig | Drain | TreeState | PeerLost | StatusReply | RestartAck | ConfigReply | ConfigWriteReply
)

_encoder = msgspec.msgpack.Encoder()
encode = _encoder.encode
supervisor_decoder = msgspec.msgpack.Decoder(ChildToSupervisor)
child_decoder = msgspec.msgpack.Decoder(SupervisorToChild)
