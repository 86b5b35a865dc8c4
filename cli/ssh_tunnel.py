"""An `ssh -N -L` tunnel to a remote gateway's loopback port, for `gateway probe --ssh`.

`ssh -N -L 127.0.0.1:<free local port>:127.0.0.1:<remote port> -p <ssh port> user@host` with
BatchMode (never a prompt), ExitOnForwardFailure (no silent half-tunnel), StrictHostKeyChecking
(an unknown host key is an error, not trusted silently) and a bounded ConnectTimeout. Ready = the
local port accepts a connection; ssh exiting first is an error carrying its stderr. `close()`
always ends the ssh process by its PID (SIGTERM, then SIGKILL), and ssh is told to die with us
(`setpriv --pdeathsig`, when util-linux has it) if the CLI itself is killed. `OPENCLAW_SSH_CONFIG` names an ssh_config file
to use instead of the user's (`ssh -F`).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

READY_POLL_S = 0.05
STOP_GRACE_S = 1.5
CONTROL_CHARS = {chr(c) for c in range(32)} | {chr(127)}


class TunnelError(Exception):
    pass


@dataclass(frozen=True)
class SshTarget:
    user: str | None
    host: str
    port: int

    def __str__(self) -> str:
        base = f"{self.user}@{self.host}" if self.user else self.host
        return base if self.port == 22 else f"{base}:{self.port}"

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host


def _unsafe(text: str) -> bool:
    return not text or text.startswith("-") or any(ch in CONTROL_CHARS or ch.isspace() for ch in text)


def parse_ssh_target(raw: str) -> SshTarget | None:
    """`user@host`, `user@host:port` or `host` (upstream's rules); None when unusable or unsafe."""
    text = raw.strip()
    if text.startswith("ssh "):
        text = text[4:].strip()
    user: str | None = None
    if "@" in text:
        user, text = text.split("@", 1)
        if _unsafe(user):
            return None
    host, port = text, 22
    if ":" in text and not text.startswith("["):
        host, _, port_text = text.rpartition(":")
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            return None
        port = int(port_text)
    if _unsafe(host) or "@" in host or host.startswith(":") or host.endswith(":"):
        return None
    return SshTarget(user or None, host, port)


def free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent_prefix() -> list[str]:
    """`setpriv --pdeathsig TERM --`: ssh gets SIGTERM if the CLI dies (even by SIGKILL). A wrapper
    that execs ssh, so no Python runs between fork and exec (the probe threads are running)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Tunnel:
    def __init__(self, proc: subprocess.Popen[bytes], target: SshTarget, local_port: int, remote_port: int,
                 stderr: Any) -> None:
        self.proc = proc
        self.target = target
        self.local_port = local_port
        self.remote_port = remote_port
        self._stderr = stderr
        self.started_ms = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def info(self) -> dict[str, Any]:
        return {
            "kind": "ssh", "target": str(self.target), "localPort": self.local_port,
            "remotePort": self.remote_port, "pid": self.pid, "startMs": self.started_ms,
        }

    def stderr_text(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        """End ssh by its PID: SIGTERM, a bounded wait, then SIGKILL."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_GRACE_S)
            except ProcessLookupError:
                pass
        try:
            self._stderr.close()
        except OSError:
            pass


def ssh_command(target: SshTarget, local_port: int, remote_port: int, identity: str | None, timeout_s: float) -> list[str]:
    ssh = shutil.which("ssh")
    if ssh is None:
        raise TunnelError("ssh not found on PATH (install the OpenSSH client)")
    args = [
        ssh, "-N", "-L", f"127.0.0.1:{local_port}:127.0.0.1:{remote_port}", "-p", str(target.port),
        "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", f"ConnectTimeout={max(1, math.ceil(timeout_s))}", "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=3",
    ]
    config = os.environ.get("OPENCLAW_SSH_CONFIG")
    if config:
        args[1:1] = ["-F", config]
    if identity:
        args += ["-i", identity]
    return [*args, "--", target.destination]


def open_tunnel(target: SshTarget, remote_port: int, identity: str | None, timeout_ms: int) -> Tunnel:
    """Start ssh and wait (at most `timeout_ms`) until the local end accepts; TunnelError otherwise."""
    started = time.monotonic()
    deadline = started + max(timeout_ms, 1) / 1000
    local_port = free_local_port()
    argv = ssh_command(target, local_port, remote_port, identity, timeout_ms / 1000)
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 (owned by the Tunnel, closed in close())
    try:
        proc = subprocess.Popen(
            [*die_with_parent_prefix(), *argv], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    except OSError as exc:
        stderr.close()
        raise TunnelError(f"cannot run ssh: {exc.strerror or exc}") from None
    tunnel = Tunnel(proc, target, local_port, remote_port, stderr)
    try:
        return _wait_ready(tunnel, started, deadline, timeout_ms)
    except BaseException:  # SIGTERM/Ctrl-C while waiting: ssh must not outlive us
        tunnel.close()
        raise


def _wait_ready(tunnel: Tunnel, started: float, deadline: float, timeout_ms: int) -> Tunnel:
    while True:
        if tunnel.proc.poll() is not None:
            why = tunnel.stderr_text()
            raise TunnelError(f"ssh exited ({tunnel.proc.returncode})" + (f": {why}" if why else ""))
        if _accepts(tunnel.local_port):
            tunnel.started_ms = int((time.monotonic() - started) * 1000)
            return tunnel
        if time.monotonic() >= deadline:
            why = tunnel.stderr_text()
            raise TunnelError(
                f"ssh tunnel did not start listening on 127.0.0.1:{tunnel.local_port} within {timeout_ms}ms"
                + (f": {why}" if why else "")
            )
        time.sleep(READY_POLL_S)
