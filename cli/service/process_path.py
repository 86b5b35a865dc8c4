"""The no-manager path: the gateway as a plain detached process, where no service manager runs
(a container, a host without systemd). `start` runs it in its own session with stdin from /dev/null
and its output appended to `<state>/logs/gateway-service.log`; `stop` sends SIGTERM to the
supervisor and waits; `restart` sends SIGUSR1 (the in-process restart: the supervisor keeps its PID).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
from openclaw.ipc.atomic import write_atomic

FRONTEND_TITLE = "openclaw-gateway: frontend"


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False


def write_started_record(path: Path, pid: int, argv: list[str], log: Path) -> None:
    """What `gateway start` started on the no-manager path (the process title overwrites the
    environment, so the gateway's own environment cannot tell), so uninstall knows it is ours."""
    record = {"pid": pid, "startedAtMs": int(time.time() * 1000), "command": argv, "log": str(log)}
    write_atomic(path, (json.dumps(record) + "\n").encode(), mode=0o600)


def started_pid(path: Path) -> int | None:
    try:
        pid = json.loads(path.read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def forget_started(path: Path, pid: int) -> None:
    if started_pid(path) == pid:
        try:
            path.unlink()
        except OSError:
            pass


def frontend_pid(supervisor_pid: int) -> int | None:
    try:
        kids = psutil.Process(supervisor_pid).children()
    except psutil.Error:
        return None
    for kid in kids:
        try:
            if " ".join(kid.cmdline()).strip() == FRONTEND_TITLE and kid.status() != psutil.STATUS_ZOMBIE:
                return kid.pid
        except psutil.Error:
            continue
    return None


def open_log(path: Path) -> tuple[int, int]:
    """The service log opened for appending (0600, never through a symlink); (fd, size before)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return fd, os.fstat(fd).st_size


def start_detached(argv: list[str], env: dict[str, str], cwd: str | None, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start `argv` in its own session, detached from this terminal; returns the process and where
    its output starts in the log. Raises OSError when the log or the program cannot be opened."""
    fd, offset = open_log(log_path)
    try:
        stamp = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.write(fd, f"--- {stamp} openclaw gateway start: {' '.join(argv)}\n".encode())
        if cwd and not os.path.isdir(cwd):
            cwd = None
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
            start_new_session=True, close_fds=True,
        )
    finally:
        os.close(fd)
    return proc, offset


def tail_since(path: Path, offset: int, lines: int = 20) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read(256 * 1024).decode(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def send(pid: int, sig: signal.Signals) -> str | None:
    """Send a signal; the reason it could not be sent, or None."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return f"pid {pid} is not running"
    except PermissionError:
        return f"not allowed to signal pid {pid} (another user's process: run as that user)"
    return None
