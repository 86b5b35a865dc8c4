"""The gateway under attack: one started here in a temp home (`--spawn`, killed by PID at the
end) or one already running on this host (`--url`, loopback only)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from ops.chaos.target import _become_subreaper, _free_port

FRONTEND_TITLE = "openclaw-gateway: frontend"


class Target:
    """What the attacks need: where it listens, a valid token, its front-end PID, its log files."""

    def __init__(self, host: str, port: int, token: str | None, log_paths: list[Path] | None = None) -> None:
        self.host, self.port, self.token = host, port, token
        self.log_paths = log_paths or []

    @property
    def url(self) -> str:
        return f"ws://[{self.host}]:{self.port}/" if ":" in self.host else f"ws://{self.host}:{self.port}/"

    def frontend_pid(self) -> int | None:
        """The process listening on our port (the front-end holds the public port)."""
        for c in psutil.net_connections("tcp"):
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == self.port and c.pid:
                try:
                    if " ".join(psutil.Process(c.pid).cmdline()).strip() == FRONTEND_TITLE:
                        return c.pid
                except psutil.Error:
                    continue
        return None

    def log_bytes(self) -> int | None:
        if not self.log_paths:
            return None
        total = 0
        for p in self.log_paths:
            try:
                total += p.stat().st_size
            except OSError:
                pass
        return total

    def log_text(self) -> str:
        out = []
        for p in self.log_paths:
            try:
                out.append(p.read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(out)


class SpawnedGateway:
    """`openclaw gateway` in a fresh temp home; stopped (SIGTERM, then SIGKILL of whatever of its
    tree is left, found as our descendants) and removed at the end."""

    READY_LINE = "openclaw gateway ready:"

    def __init__(self, openclaw_bin: str, auth_mode: str = "token") -> None:
        self.bin, self.auth_mode = openclaw_bin, auth_mode
        self.token = "attack-" + secrets.token_hex(16) if auth_mode == "token" else None
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def output_path(self) -> Path:
        assert self.dir is not None
        return self.dir / "gateway.out"

    @property
    def log_path(self) -> Path:
        assert self.dir is not None
        return self.dir / "gw.log"

    def target(self) -> Target:
        return Target("127.0.0.1", self.port, self.token, [self.log_path, self.output_path])

    def start(self, timeout: float = 60.0) -> SpawnedGateway:
        _become_subreaper()
        self.dir = Path(tempfile.mkdtemp(prefix="openclaw-attack-"))
        (self.dir / ".openclaw").mkdir(mode=0o700)
        self.port = _free_port()
        auth: dict[str, str] = {"mode": self.auth_mode}
        if self.token:
            auth["token"] = self.token
        config = {"gateway": {"mode": "local", "port": self.port, "auth": auth}, "logging": {"file": str(self.log_path)}}
        cfg = self.dir / ".openclaw" / "openclaw.json"
        cfg.write_text(json.dumps(config, indent=2) + "\n")
        cfg.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(HOME=str(self.dir), OPENCLAW_HOME=str(self.dir))
        with open(self.output_path, "wb") as out:
            self.proc = subprocess.Popen(
                [self.bin, "gateway"], env=env, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while self.READY_LINE not in self.output_path.read_text(errors="replace"):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.proc.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway was not ready after {timeout:.0f}s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for p in psutil.Process().children(recursive=True):  # ours only: we are their subreaper
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(p.pid, os.WNOHANG)
                elif " ".join(p.cmdline()).startswith("openclaw-gateway:"):
                    p.kill()
            except (psutil.Error, ChildProcessError):
                continue

    def remove(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
