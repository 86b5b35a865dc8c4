"""One gateway per state dir: a kernel-released flock, plus the instance record CLIs read."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import msgspec

from openclaw.ipc.atomic import write_atomic
from openclaw.ipc.errors import ConfigRefusal


class InstanceRecord(msgspec.Struct):
    pid: int
    port: int
    bind_hosts: list[str]
    state_dir: str
    config_path: str
    profile: str | None
    started_at_ms: int


class StateLock:
    """flock on <state>/gateway.lock; released by the kernel if we die, so never stale."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ConfigRefusal(
                f"Another gateway (pid {owner}) already owns the state dir {self.path.parent}. "
                "Stop it first, or use another --profile / OPENCLAW_STATE_DIR."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.set_inheritable(fd, False)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def write_instance(path: Path, record: InstanceRecord) -> None:
    write_atomic(path, msgspec.json.encode(record) + b"\n", mode=0o600)


def remove_instance(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def now_ms() -> int:
    return int(time.time() * 1000)
