"""Who holds a TCP port, and exactly how to stop it: the busy-port error and `openclaw doctor`.

Each listener is traced to the process to stop (for a gateway of ours, its supervisor) and
classified once; the kind decides the hint:

| kind | what it is | hint |
| --- | --- | --- |
| `gateway-service` | an OpenClaw gateway run by systemd (its cgroup is a `.service`) | `systemctl [--user] stop <unit>` |
| `gateway` | an OpenClaw gateway in this home's registry | `openclaw [--profile X] gateway stop`; Ctrl-C first when it runs in a terminal |
| `gateway-elsewhere` | an OpenClaw gateway this home's registry does not list (another HOME) | `kill -TERM <pid>` (a clean stop) |
| `foreign` | any other program | its pid and command; never `gateway stop` |
| `hidden` | a listener whose process this user cannot see | ask its owner |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .instance_registry import list_instances
from .paths import profile_state_dir
from .ports import PortHolder, port_holders

GATEWAY_TITLE = "openclaw-gateway:"
SUPERVISOR_TITLE = re.compile(r"^openclaw-gateway: supervisor \[(?P<profile>[^\]]+)\]")


@dataclass
class PortOwner:
    kind: str  # gateway-service | gateway | gateway-elsewhere | foreign | hidden
    pid: int | None  # the process to stop: a gateway's supervisor, else the listener itself
    command: str
    user: str | None = None
    addresses: list[str] = field(default_factory=list)
    profile: str | None = None  # a gateway's profile, "default" for the default one
    state_dir: str | None = None  # from its instance record (kind "gateway")
    unit: str | None = None  # the systemd unit running it
    user_unit: bool = False
    terminal: str | None = None  # its controlling terminal (a foreground gateway)

    @property
    def is_gateway(self) -> bool:
        return self.kind.startswith("gateway")


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline()).strip()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def _top_gateway_process(pid: int) -> psutil.Process | None:
    """The supervisor of the gateway tree `pid` belongs to (itself when it is one)."""
    try:
        proc = psutil.Process(pid)
        if not _cmdline(proc).startswith(GATEWAY_TITLE):
            return None
        while True:
            parent = proc.parent()
            if parent is None or not _cmdline(parent).startswith(GATEWAY_TITLE):
                return proc
            proc = parent
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def systemd_unit_of(cgroup_text: str) -> tuple[str, bool] | None:
    """(unit, is a user unit) when /proc/<pid>/cgroup puts the process in a systemd service."""
    for line in cgroup_text.splitlines():
        path = line.split(":", 2)[-1]
        leaf = path.rstrip("/").rsplit("/", 1)[-1]
        if leaf.endswith(".service") and not leaf.startswith("user@"):
            return leaf, "/user@" in path
    return None


def _systemd_unit(pid: int) -> tuple[str, bool] | None:
    try:
        return systemd_unit_of(Path(f"/proc/{pid}/cgroup").read_text())
    except OSError:
        return None


def _terminal(proc: psutil.Process) -> str | None:
    try:
        return proc.terminal()
    except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
        return None


def port_owners(port: int, home: Path, exclude_pid: int | None = None) -> list[PortOwner]:
    """Every holder of `port`, one entry per process to stop, classified."""
    holders = [h for h in port_holders(port) if h.pid is None or h.pid != exclude_pid]
    return classify(holders, home, exclude_pid)


def classify(holders: list[PortHolder], home: Path, exclude_pid: int | None = None) -> list[PortOwner]:
    owners: dict[int | None, PortOwner] = {}
    instances = None
    for h in holders:
        if h.pid is None:
            owners.setdefault(None, PortOwner("hidden", None, "", None)).addresses.append(h.address)
            continue
        top = _top_gateway_process(h.pid)
        pid = top.pid if top is not None else h.pid
        if pid == exclude_pid:
            continue
        if pid in owners:
            owners[pid].addresses.append(h.address)
            continue
        if top is None:
            owners[pid] = PortOwner("foreign", pid, h.cmdline or h.command, h.user, [h.address])
            continue
        title = _cmdline(top)
        m = SUPERVISOR_TITLE.match(title)
        owner = PortOwner("gateway-elsewhere", pid, title, h.user, [h.address], profile=m.group("profile") if m else None)
        owner.terminal = _terminal(top)
        unit = _systemd_unit(pid)
        if instances is None:
            instances = [i for i in list_instances(home) if i.alive]
        record = next((i.record for i in instances if i.record.pid == pid), None)
        if record is not None:
            owner.kind = "gateway"
            owner.profile = record.profile or "default"
            owner.state_dir = record.state_dir
        if unit is not None:
            owner.kind = "gateway-service"
            owner.unit, owner.user_unit = unit
        owners[pid] = owner
    return list(owners.values())


def gateway_stop_command(profile: str | None, state_dir: str | None, home: Path) -> str:
    """`openclaw [--profile X] gateway stop`, with OPENCLAW_STATE_DIR when the gateway uses a custom one."""
    name = None if profile in (None, "default") else profile
    cmd = f"openclaw --profile {name} gateway stop" if name else "openclaw gateway stop"
    if state_dir and Path(state_dir) != profile_state_dir(home, name):
        cmd = f"OPENCLAW_STATE_DIR={state_dir} {cmd}"
    return cmd


def describe_owner(owner: PortOwner) -> str:
    """Who it is, in a few words: `pid 123 (nc -l 18789)`, `profile "main"'s gateway (pid 456)`."""
    if owner.kind == "hidden":
        return "a process this user cannot see"
    if not owner.is_gateway:
        return f"pid {owner.pid} ({owner.command or 'unknown'})"
    if owner.profile:
        return f"profile \"{owner.profile}\"'s gateway (pid {owner.pid})"
    return f"an OpenClaw gateway (pid {owner.pid})"


def stop_hint(owner: PortOwner, home: Path) -> str:
    """What it is and the exact way to stop it (the owner's identity is printed beside it)."""
    if owner.kind == "hidden":
        return "another user's process, not visible to this user: ask its owner to stop it, or choose another --port"
    if owner.kind == "foreign":
        return (f"not an OpenClaw gateway: stop it yourself (`kill {owner.pid}`) if it is yours, "
                "or choose another --port")
    what = f"profile \"{owner.profile}\"'s OpenClaw gateway" if owner.profile else "an OpenClaw gateway"
    if owner.kind == "gateway-service":
        scope = "systemctl --user" if owner.user_unit else "sudo systemctl"
        return f"{what}, run by the systemd unit {owner.unit}: stop it with `{scope} stop {owner.unit}`"
    if owner.kind == "gateway":
        how = f"`{gateway_stop_command(owner.profile, owner.state_dir, home)}`"
    else:
        what += " that this home's registry does not list"
        how = f"`kill -TERM {owner.pid}` (a clean stop)"
    if owner.terminal:
        return f"{what}, in the foreground on {owner.terminal}: press Ctrl-C in its terminal, or run {how}"
    return f"{what}: stop it with {how}"
