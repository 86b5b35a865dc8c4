"""Start `openclaw gateway` as a user would, in an isolated HOME, and clean up every process it made.

Tests wait on conditions (a port answering, a file appearing), never on fixed sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
OPENCLAW = str(Path(sys.executable).with_name("openclaw"))
TOKEN = "test-token-0123456789abcdefghijklmnop"
NO_TELEGRAM = "http://127.0.0.1:9"  # a Bot API root where nothing listens: tests never reach api.telegram.org


def wait_for(cond: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A port free on both loopback addresses right now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6) as s6:
                s6.bind(("::1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Home:
    """An isolated user: HOME, state dir, config file, log file."""

    def __init__(self, root: Path, profile: str | None = None) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.home / (f".openclaw-{profile}" if profile else ".openclaw")
        self.config_path = self.state_dir / "openclaw.json"
        self.log_file = root / "logs" / "openclaw.log"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_") and k != "TELEGRAM_BOT_TOKEN"}
        # a Telegram account without apiRoot must not reach api.telegram.org from a test
        env.update(HOME=str(self.home), OPENCLAW_HOME=str(self.home), NO_COLOR="1", OPENCLAW_TELEGRAM_API_ROOT=NO_TELEGRAM)
        env["OPENCLAW_SKIP_CANVAS_HOST"] = "1"  # no listener on port + 4 unless a test asks (OPENCLAW_SKIP_CANVAS_HOST="0")
        env.update(extra)
        return env

    def write_config(self, config: dict[str, Any] | str, *, by_rename: bool = False) -> None:
        """Write the config in place, or as an editor that saves to a temp file and renames it."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        if by_rename:
            tmp = self.config_path.with_name(f".{self.config_path.name}.swp")
            tmp.write_text(text)
            os.replace(tmp, self.config_path)
        else:
            self.config_path.write_text(text)

    def runtime_dir(self) -> Path:
        """Where the gateway's ipc sockets are: <state>/run, or under /tmp when that path is too long."""
        from openclaw.ipc.paths import resolve_paths

        return resolve_paths(env=self.env()).runtime_dir()

    def config_hash(self) -> str:
        import hashlib

        return "sha256:" + hashlib.sha256(self.config_path.read_bytes()).hexdigest()

    def log_records(self) -> list[dict[str, Any]]:
        """The gateway's JSON-lines log, parsed (lines being written are skipped)."""
        out = []
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def log_messages(self) -> list[str]:
        return [r.get("message", "") for r in self.log_records()]

    def default_config(self, **gateway: Any) -> dict[str, Any]:
        gw: dict[str, Any] = {"mode": "local", "auth": {"mode": "token", "token": TOKEN}}
        gw.update(gateway)
        return {"gateway": gw, "logging": {"file": str(self.log_file)}}

    def cli(self, *args: str, timeout: float = 30, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OPENCLAW, *args], env=env or self.env(), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )


class Gateway:
    """One `openclaw gateway` process tree."""

    def __init__(self, home: Home, args: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.args = args or []
        self.env = env or home.env()
        self.proc: subprocess.Popen[bytes] | None = None
        self.known: set[int] = set()
        self.out_path = home.root / f"gateway-{time.monotonic_ns()}.out"
        self.port: int | None = None
        self.tls = False  # gateway.tls.enabled in the config at start: probes and url use https/wss

    def _config_tls(self) -> bool:
        try:
            cfg = json.loads(self.home.config_path.read_text())
            return cfg.get("gateway", {}).get("tls", {}).get("enabled") is True
        except (OSError, ValueError, AttributeError):
            return False

    def start(self) -> Gateway:
        self.tls = self._config_tls()
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            [OPENCLAW, "gateway", *self.args], env=self.env, stdout=self._out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.known.add(self.proc.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def instance(self) -> dict[str, Any] | None:
        f = self.home.state_dir / "gateway.instance.json"
        try:
            rec = json.loads(f.read_text())
        except (OSError, ValueError):
            return None
        return rec if rec.get("pid") == self.pid else None

    def wait_ready(self, timeout: float = 20.0) -> Gateway:
        """Ready = the supervisor announced it and /readyz says every child is up."""
        return self._wait_announced("/readyz", timeout, "gateway ready")

    def wait_serving(self, timeout: float = 20.0) -> Gateway:
        """Announced and serving, even if a child is crash-looping (so /readyz may be 503)."""
        return self._wait_announced("/healthz", timeout, "gateway serving")

    def _wait_announced(self, probe: str, timeout: float, what: str) -> Gateway:
        def done() -> bool:
            self.track()
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early ({self.proc.returncode}):\n{self.output()}")
            rec = self.instance()
            if not rec or "ready:" not in self.output():
                return False
            self.port = rec["port"]
            return self.http_status(probe) == 200

        wait_for(done, timeout, what=what)
        return self

    def http_status(self, path: str) -> int | None:
        import urllib.request
        import urllib.error

        import ssl

        ctx = ssl._create_unverified_context() if self.tls else None  # the fingerprint is checked by the TLS tests
        try:
            with urllib.request.urlopen(f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}",
                                        timeout=2, context=ctx) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def track(self) -> list[psutil.Process]:
        """Remember every descendant so cleanup can reach them even after the supervisor is gone."""
        try:
            kids = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.known.update(k.pid for k in kids)
        return kids

    def children_by_title(self) -> dict[str, int]:
        """Live children by name ("frontend", "agent", "channel:telegram"), from their process titles."""
        out: dict[str, int] = {}
        for k in self.track():
            try:
                title = " ".join(x for x in k.cmdline() if x)
                if k.status() == psutil.STATUS_ZOMBIE:
                    continue
            except psutil.Error:
                continue
            if title == "openclaw-gateway: frontend":
                out["frontend"] = k.pid
            elif title.startswith("openclaw-gateway: worker "):
                out[title.rsplit(" ", 1)[1]] = k.pid
            elif title.startswith("openclaw-gateway: channel "):
                out["channel:" + title.rsplit(" ", 1)[1]] = k.pid
            elif title == "openclaw-gateway: canvas":
                out["canvas"] = k.pid
        return out

    def wait_applied(self, config_hash: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the gateway has taken the config file as it is now; returns health.configReload."""
        from .wsclient import open_client

        want = config_hash or self.home.config_hash()

        def applied() -> dict[str, Any] | None:
            # a connection per look: the gateway may hold an intermediate config whose secret is not ours
            try:
                c = open_client(self.url, scopes=[])
            except (AssertionError, OSError):  # refused (that secret), or the front door restarting
                return None
            try:
                r = c.call("health")["payload"]["configReload"]
                return r if r.get("lastGoodHash") == want else None
            finally:
                c.close()

        return wait_for(applied, timeout, interval=0.05, what=f"config {want[:20]} applied")

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def alive_known(self) -> list[int]:
        alive = []
        for pid in self.known:
            try:
                p = psutil.Process(pid)
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        return alive

    def stop(self) -> None:
        """SIGTERM, bounded wait, then SIGKILL whatever we started that is still alive."""
        self.track()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        try:
            wait_for(lambda: not self.alive_known(), 5, what="children exit")
        except TimeoutError:
            pass
        for pid in self.alive_known():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if hasattr(self, "_out"):
            self._out.close()


@contextmanager
def running_gateway(home: Home, args: list[str] | None = None, env: dict[str, str] | None = None) -> Iterator[Gateway]:
    """A ready gateway for the `with` block, stopped (with every child) even when the block fails."""
    if not home.config_path.exists():
        home.write_config(home.default_config())
    gateway = Gateway(home, args if args is not None else ["--port", "0"], env=env)
    try:
        gateway.start()
        gateway.wait_ready()
        yield gateway
    finally:
        gateway.stop()
