"""The host's gateways: one small record per running gateway, so every CLI verb finds them all.

Each supervisor writes `<state>/gateway.instance.json` (its own) and registers the same record in
the user's registry folder `<home>/.local/state/openclaw/gateways/<key>.json` (home = OPENCLAW_HOME
or HOME), removed when it stops. `list_instances` reads the folder and judges each record alive only
if its pid runs, is a gateway supervisor (process title) and started no later than the record says
(so a reused pid is not mistaken for it). A record left by a killed gateway is reported as stale;
`prune` removes those.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from .atomic import write_atomic
from .paths import Paths

SUPERVISOR_TITLE = "openclaw-gateway: supervisor"
START_SLACK_S = 5.0  # the record is written a moment after the process started


class InstanceRecord(msgspec.Struct, omit_defaults=True):
    pid: int
    port: int
    bind_hosts: list[str]
    state_dir: str
    config_path: str
    profile: str | None
    started_at_ms: int
    log_file: str | None = None
    boot_id: str | None = None
    tls_sha256: str | None = None  # gateway.tls on: clients use wss:// and pin this certificate


@dataclass
class Instance:
    record: InstanceRecord
    path: Path  # the registry entry
    alive: bool
    reason: str  # why it is judged stale ("" when alive)

    @property
    def profile_name(self) -> str:
        return self.record.profile or "default"

    def to_json(self) -> dict[str, Any]:
        out = msgspec.to_builtins(self.record)
        out.update(alive=self.alive, registryPath=str(self.path))
        if not self.alive:
            out["staleReason"] = self.reason
        return out


def registry_dir(home: Path) -> Path:
    return home / ".local" / "state" / "openclaw" / "gateways"


def entry_key(paths: Paths) -> str:
    """The profile's name for a gateway in its profile's own state dir, else a hash of the state dir."""
    default_dir = paths.home / (f".openclaw-{paths.profile}" if paths.profile else ".openclaw")
    if paths.state_dir == default_dir:
        return paths.profile or "default"
    return "dir-" + hashlib.sha256(str(paths.state_dir.resolve()).encode()).hexdigest()[:16]


def entry_path(paths: Paths) -> Path:
    return registry_dir(paths.home) / f"{entry_key(paths)}.json"


def write_record(paths: Paths, record: InstanceRecord) -> None:
    """The state dir's own instance file and the host registry entry, both atomically (0600)."""
    data = msgspec.json.encode(record) + b"\n"
    write_atomic(paths.instance_file, data, mode=0o600)
    try:
        folder = registry_dir(paths.home)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(entry_path(paths), data, mode=0o600)
    except OSError:
        pass  # the registry is a convenience for the CLI; the gateway runs without it


def remove_record(paths: Paths, pid: int) -> None:
    """Remove both records, but only if they are still ours (a newer gateway may have replaced them)."""
    for path in (paths.instance_file, entry_path(paths)):
        rec = read_record(path)
        if rec is None or rec.pid == pid:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                pass


def read_record(path: Path) -> InstanceRecord | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=InstanceRecord)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def judge(record: InstanceRecord) -> tuple[bool, str]:
    """Is the gateway this record describes running? (alive, reason when not)."""
    import psutil

    try:
        proc = psutil.Process(record.pid)
        title = " ".join(proc.cmdline())
        created = proc.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False, f"pid {record.pid} is not running"
    except psutil.AccessDenied:
        return True, ""  # another user's process with that pid: cannot tell, assume it is
    if not title.startswith(SUPERVISOR_TITLE):
        return False, f"pid {record.pid} is now another program ({title[:60] or 'unknown'})"
    if created > record.started_at_ms / 1000 + START_SLACK_S:
        return False, f"pid {record.pid} was reused by a newer process"
    return True, ""


def list_instances(home: Path) -> list[Instance]:
    """Every registered gateway of this user, alive or stale, sorted by profile then state dir."""
    out: list[Instance] = []
    folder = registry_dir(home)
    try:
        entries = sorted(folder.glob("*.json"))
    except OSError:
        return out
    for path in entries:
        rec = read_record(path)
        if rec is None:
            continue
        alive, reason = judge(rec)
        out.append(Instance(rec, path, alive, reason))
    out.sort(key=lambda i: (i.profile_name, i.record.state_dir))
    return out


def running_instance(paths: Paths) -> InstanceRecord | None:
    """The live gateway of this state dir, from its own instance file."""
    rec = read_record(paths.instance_file)
    if rec is None:
        return None
    alive, _ = judge(rec)
    return rec if alive else None


def prune(home: Path) -> list[Instance]:
    """Remove stale registry entries (and the instance files they name, if equally stale)."""
    removed = []
    for inst in list_instances(home):
        if inst.alive:
            continue
        for path in (inst.path, Path(inst.record.state_dir) / "gateway.instance.json"):
            rec = read_record(path)
            if rec is not None and rec.pid == inst.record.pid:
                try:
                    path.unlink()
                except OSError:
                    pass
        removed.append(inst)
    return removed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
