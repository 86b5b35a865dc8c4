"""The gateway under test: one we start (`--spawn`) or one already running on this host (`--url`).

Everything that touches the gateway's processes or files lives here: finding PIDs (`status`),
signalling them only after checking they are the processes we think they are (title and
parent), editing the config file atomically, and cleaning up whatever we stopped or started.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .configfile import ConfigFile
from .control import ControlClient
from .wire import http_base, ws_url

TITLE_PREFIX = "openclaw-gateway:"
DEFAULT_FAULTS = "channel:crashy=exit-on-start"


def expected_title(name: str) -> str:
    if name.startswith("channel:"):
        return f"{TITLE_PREFIX} channel {name.split(':', 1)[1]}"
    if name in ("agent", "node"):
        return f"{TITLE_PREFIX} worker {name}"
    return f"{TITLE_PREFIX} {name}"


def process_title(pid: int) -> str | None:
    try:
        return " ".join(psutil.Process(pid).cmdline()).strip()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


@dataclass
class Proc:
    name: str
    pid: int | None
    state: str
    restarts: int
    last_exit: str | None
    reason: str | None


@dataclass
class ProcessGuard:
    """Processes the tool stopped (SIGSTOP): none may survive the run."""

    stopped: list[tuple[int, float]] = field(default_factory=list)

    def remember_stopped(self, pid: int) -> None:
        try:
            self.stopped.append((pid, psutil.Process(pid).create_time()))
        except psutil.NoSuchProcess:
            pass

    def survivors(self) -> list[int]:
        out = []
        for pid, created in self.stopped:
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
            except psutil.NoSuchProcess:
                pass
        return out

    def cleanup(self) -> list[int]:
        """SIGKILL (then SIGCONT, harmless) every stopped process of ours still there."""
        killed = self.survivors()
        for pid in killed:
            for sig in (signal.SIGKILL, signal.SIGCONT):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        return killed


class Target:
    """A gateway reachable at `url` on this host; `spawned` is set when the tool started it."""

    def __init__(self, host: str, port: int, token: str, spawned: SpawnedGateway | None = None) -> None:
        self.url = ws_url(host, port)
        self.http = http_base(host, port)
        self.token = token
        self.spawned = spawned
        self.supervisor_pid = 0
        self.config: ConfigFile | None = None
        self.faults = ""
        self.guard = ProcessGuard()

    async def discover(self, ctl: ControlClient, declared_faults: str | None = None) -> None:
        """Supervisor PID (checked to be a local gateway supervisor), config file, faults.

        The supervisor's OPENCLAW_FAULTS usually cannot be read back (setproctitle overwrites
        /proc/PID/environ), so for a gateway we did not start the caller declares it."""
        status = await ctl.call("status", timeout=20)
        pid = int(status.get("pid") or 0)
        title = process_title(pid) if pid else None
        if not title or not title.startswith(f"{TITLE_PREFIX} supervisor"):
            raise RuntimeError(
                f"status says the supervisor is PID {pid}, but that is not a gateway supervisor on this host ({title!r})"
            )
        self.supervisor_pid = pid
        cfg = await ctl.call("config.get", timeout=10)
        path = Path(cfg.get("path") or "")
        if not path.is_file():
            raise RuntimeError(f"config.get names {path}, which is not a file on this host")
        self.config = ConfigFile(path.resolve())  # a symlinked config: edit its target
        try:
            seen = psutil.Process(pid).environ().get("OPENCLAW_FAULTS", "")
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            seen = ""
        self.faults = seen or (self.spawned.faults if self.spawned else declared_faults or "")

    async def processes(self, ctl: ControlClient, timeout: float = 10.0) -> dict[str, Proc]:
        status = await ctl.call("status", timeout=timeout)
        rows = (status.get("supervision") or {}).get("processes") or []
        return {
            r["name"]: Proc(r["name"], r.get("pid"), r.get("state", "?"), r.get("restarts", 0), r.get("lastExit"), r.get("reason"))
            for r in rows
        }

    def signal_child(self, name: str, pid: int, sig: signal.Signals) -> float:
        """Send `sig` to child `name` after checking title and parent; returns the time it was sent."""
        title = process_title(pid)
        if title != expected_title(name):
            raise RuntimeError(f"PID {pid} is {title!r}, not {expected_title(name)!r}; not signalling it")
        try:
            ppid = psutil.Process(pid).ppid()
        except psutil.NoSuchProcess:
            raise RuntimeError(f"PID {pid} ({name}) is gone") from None
        if ppid != self.supervisor_pid:
            raise RuntimeError(f"PID {pid} ({name}) is not a child of the supervisor {self.supervisor_pid}")
        if sig == signal.SIGSTOP:
            self.guard.remember_stopped(pid)
        t = time.time()
        os.kill(pid, sig)
        return t

    def signal_supervisor(self, sig: signal.Signals) -> float:
        title = process_title(self.supervisor_pid)
        if not title or not title.startswith(f"{TITLE_PREFIX} supervisor"):
            raise RuntimeError(f"PID {self.supervisor_pid} is no longer the gateway supervisor ({title!r})")
        t = time.time()
        os.kill(self.supervisor_pid, sig)
        return t


def _free_port() -> int:
    """A port free on 127.0.0.1 and (when there is IPv6) ::1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
            except OSError as exc:
                if exc.errno == 99:  # EADDRNOTAVAIL: no IPv6 loopback here
                    return port
                continue
            return port
    raise RuntimeError("no free loopback port found")


def _become_subreaper() -> None:
    """PR_SET_CHILD_SUBREAPER: orphans of our gateway are re-parented to us, not to init, so a
    process the supervisor leaves behind is still found (and killed) after it exited."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: leftovers are then found while the supervisor lives
        pass


class SpawnedGateway:
    """`openclaw gateway` in a fresh temp home, with fault injection. The tool starts nothing
    else, so its descendants are exactly this gateway's processes."""

    READY_LINE = "openclaw gateway ready:"

    def __init__(self, openclaw_bin: str, faults: str = DEFAULT_FAULTS) -> None:
        self.bin, self.faults = openclaw_bin, faults
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.token = "chaos-" + secrets.token_hex(16)
        self.exit_code: int | None = None

    @property
    def output_path(self) -> Path:
        assert self.dir is not None
        return self.dir / "gateway.out"

    def output(self) -> str:
        try:
            return self.output_path.read_text(errors="replace")
        except (OSError, AssertionError):
            return ""

    async def start(self, timeout: float = 60.0) -> None:
        _become_subreaper()
        self.dir = Path(tempfile.mkdtemp(prefix="openclaw-chaos-"))
        (self.dir / ".openclaw").mkdir()
        self.port = _free_port()
        config = {
            "gateway": {"mode": "local", "port": self.port, "auth": {"mode": "token", "token": self.token}},
            "logging": {"file": str(self.dir / "gw.log")},
            "channels": {"demo": {}},
        }
        cfg_path = self.dir / ".openclaw" / "openclaw.json"
        cfg_path.write_text(json.dumps(config, indent=2) + "\n")
        cfg_path.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(HOME=str(self.dir), OPENCLAW_HOME=str(self.dir), OPENCLAW_FAULTS=self.faults)
        with open(self.output_path, "wb") as out:
            self.proc = subprocess.Popen(
                [self.bin, "gateway"], env=env, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while self.READY_LINE not in self.output():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.proc.returncode} before it was ready:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway was not ready after {timeout:.0f}s:\n{self.output()}")
            await asyncio.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def wait_exit(self, timeout: float) -> float | None:
        """Seconds until the supervisor exited (polled every 2 ms), or None if it did not."""
        assert self.proc is not None
        t0 = time.monotonic()
        while self.proc.poll() is None:
            if time.monotonic() - t0 > timeout:
                return None
            await asyncio.sleep(0.002)
        self.exit_code = self.proc.returncode
        return time.monotonic() - t0

    def leftovers(self) -> list[psutil.Process]:
        """Live (non-zombie) processes this gateway started, the supervisor included.

        The tool is a child subreaper (see `_become_subreaper`), so the gateway's processes stay
        our descendants even when the supervisor is gone; zombies among them are reaped here.
        """
        out = []
        for p in psutil.Process().children(recursive=True):
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    if p.pid != self.pid and p.ppid() == os.getpid():
                        os.waitpid(p.pid, os.WNOHANG)
                    continue
                out.append(p)
            except (psutil.NoSuchProcess, ChildProcessError):
                continue
        return out

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the supervisor and wait; SIGKILL whatever of ours is still there after that."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            if await self.wait_exit(timeout) is None:
                os.kill(self.pid, signal.SIGKILL)
                await self.wait_exit(5)
        self.kill_leftovers()

    def kill_leftovers(self) -> list[int]:
        killed = []
        for p in self.leftovers():
            try:
                p.kill()
                killed.append(p.pid)
            except psutil.NoSuchProcess:
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        return killed

    def remove_dir(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
