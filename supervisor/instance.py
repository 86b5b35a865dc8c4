"""One gateway per state dir: a kernel-released flock (the instance records are ipc/instance_registry.py)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from openclaw.ipc.errors import ConfigRefusal


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


def now_ms() -> int:
    return int(time.time() * 1000)
