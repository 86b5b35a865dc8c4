"""Is the gateway really up? Bounded waits on its instance record and a WebSocket hello-ok.

A gateway counts as ready when its supervisor has written the instance record, a client gets
`hello-ok` and `/readyz` says every worker is up (and, when we can read it, `status`: pid, bootId, generation). After an in-process restart
it counts as back when a new front-end answers with a higher generation. If the gateway refuses our
credentials, `/readyz` answering 200 stands in for the hello-ok, and the result says so.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.instance_registry import InstanceRecord, running_instance
from openclaw.ipc.paths import Paths

from .process_path import frontend_pid, gone


@dataclass
class Secret:
    token: str | None
    password: str | None
    source: str


@dataclass
class Credentials:
    """Every secret this profile's gateway may accept, best first; a probe that succeeds with one
    moves it to the front, so later calls use it."""

    candidates: list[Secret] = field(default_factory=list)
    looked_in: list[str] = field(default_factory=list)

    @property
    def token(self) -> str | None:
        return self.candidates[0].token if self.candidates else None

    @property
    def password(self) -> str | None:
        return self.candidates[0].password if self.candidates else None

    @property
    def source(self) -> str | None:
        return self.candidates[0].source if self.candidates else None

    def prefer(self, secret: Secret) -> None:
        self.candidates.remove(secret)
        self.candidates.insert(0, secret)


def gateway_credentials(paths: Paths, service_env: dict[str, str] | None = None) -> Credentials:
    """Where a gateway of this profile reads its secret: the service's environment (its EnvironmentFile),
    the config, the runtime token file; and this shell's environment (a gateway run by hand from it)."""
    creds = Credentials()

    def add(token: str | None, password: str | None, source: str) -> None:
        if (token or password) and all((c.token, c.password) != (token, password) for c in creds.candidates):
            creds.candidates.append(Secret(token, password, source))

    for where, env in (("the service environment", service_env or {}), ("this shell's environment", os.environ)):
        creds.looked_in.append(f"{where} (OPENCLAW_GATEWAY_TOKEN/PASSWORD)")
        add(env.get("OPENCLAW_GATEWAY_TOKEN"), None, f"{where} OPENCLAW_GATEWAY_TOKEN")
        add(None, env.get("OPENCLAW_GATEWAY_PASSWORD"), f"{where} OPENCLAW_GATEWAY_PASSWORD")
    creds.looked_in.append(f"{paths.config_path} (gateway.auth.token/password)")
    try:
        config = load_config(paths.config_path).data
    except ConfigRefusal:
        config = {}
    for key in ("token", "password"):
        value = config_value(config, f"gateway.auth.{key}")
        if isinstance(value, str) and value.strip():
            add(value if key == "token" else None, value if key == "password" else None, f"config gateway.auth.{key}")
    creds.looked_in.append(str(paths.runtime_token_file))
    try:
        add(paths.runtime_token_file.read_text().strip() or None, None, "runtime token file")
    except OSError:
        pass
    # the shell's own variables come after the files: a service never sees them
    shell = [c for c in creds.candidates if c.source.startswith("this shell")]
    creds.candidates = [c for c in creds.candidates if c not in shell] + shell
    return creds


def connect_host(rec: InstanceRecord) -> str:
    hosts = rec.bind_hosts or ["127.0.0.1"]
    if any(h in ("127.0.0.1", "0.0.0.0", "localhost") for h in hosts):
        return "127.0.0.1"
    if any(h in ("::1", "::") for h in hosts):
        return "[::1]"
    host = hosts[0]
    return f"[{host}]" if ":" in host else host


@dataclass
class Probe:
    ok: bool
    url: str
    pid: int | None = None
    boot_id: str | None = None
    generation: int | None = None
    frontend_pid: int | None = None
    conn_id: str | None = None
    auth_rejected: bool = False
    error: str | None = None


def _probe_one(url: str, secret: Secret | None, timeout_s: float, tls_sha256: str | None = None) -> Probe:
    """hello-ok and `status` through the probe `gateway status`/`probe` use (cli/gateway_probe.py)."""
    from ..gateway_probe import probe_gateway

    res = probe_gateway(url, secret.token if secret else None, secret.password if secret else None,
                        int(max(0.2, timeout_s) * 1000), detail=("status",), display_name="gateway:lifecycle",
                        tls_fingerprint=tls_sha256)
    if not res.connected:
        return Probe(False, url, auth_rejected=res.reached, error=f"{res.error_code}: {res.error}" if res.reached else res.error)
    out = Probe(True, url, boot_id=res.server.get("bootId"), conn_id=res.server.get("connId"))
    status = res.answers.get("status")
    if isinstance(status, dict):
        sup = status.get("supervision") or {}
        out.pid, out.generation, out.frontend_pid = status.get("pid"), sup.get("generation"), sup.get("frontendPid")
        out.boot_id = sup.get("bootId") or out.boot_id
    return out


def record_url(rec: InstanceRecord, scheme: str = "ws") -> str:
    """ws:// or wss:// (http/https) for the gateway of `rec`: wss when it serves gateway.tls."""
    secure = "s" if rec.tls_sha256 else ""
    return f"{scheme}{secure}://{connect_host(rec)}:{rec.port}"


def probe(rec: InstanceRecord, creds: Credentials, timeout_s: float) -> Probe:
    """hello-ok (and `status`) from the gateway of `rec`, trying each candidate secret once."""
    url = record_url(rec)
    result = Probe(False, url, error="no credentials found")
    for secret in list(creds.candidates) or [None]:
        result = _probe_one(url, secret, timeout_s, rec.tls_sha256)
        if not result.auth_rejected:
            if result.ok and secret is not None:
                creds.prefer(secret)
            return result
    return result


def http_ready(rec: InstanceRecord, timeout_s: float = 1.0) -> bool:
    try:
        ctx = None
        if rec.tls_sha256:  # the record names the certificate; readiness is not a secret, the pin is checked by probe()
            import ssl

            ctx = ssl._create_unverified_context()
        with urllib.request.urlopen(record_url(rec, "http") + "/readyz", timeout=timeout_s, context=ctx) as res:
            return res.status == 200
    except urllib.error.HTTPError:
        return False
    except OSError:
        return False


@dataclass
class Readiness:
    ok: bool
    record: InstanceRecord | None = None
    probe: Probe | None = None
    exited: bool = False
    exit_code: int | None = None
    timed_out: bool = False
    note: str | None = None  # e.g. "ready by /readyz; RPC refused our credentials"

    def to_json(self) -> dict[str, Any]:
        p = self.probe
        out: dict[str, Any] = {"ready": self.ok}
        if self.record is not None:
            out.update(pid=self.record.pid, port=self.record.port)
        if p is not None:
            out.update(url=p.url, rpcOk=p.ok, bootId=p.boot_id, generation=p.generation, frontendPid=p.frontend_pid)
        if self.exit_code is not None:
            out["exitCode"] = self.exit_code
        if self.note:
            out["note"] = self.note
        return out


def wait_ready(
    paths: Paths, creds: Credentials, timeout_s: float, *, pid: int | None = None, proc: Popen[bytes] | None = None,
    min_generation: int | None = None, not_frontend: int | None = None,
) -> Readiness:
    """Wait (bounded) until this profile's gateway answers; stop early when it exits."""
    deadline = time.monotonic() + timeout_s
    last: Probe | None = None
    while True:
        if proc is not None and proc.poll() is not None:
            return Readiness(False, exited=True, exit_code=proc.returncode, probe=last)
        if proc is None and pid is not None and gone(pid):
            return Readiness(False, exited=True, probe=last)
        rec = running_instance(paths)
        if rec is not None and (pid is None or rec.pid == pid):
            fe = frontend_pid(rec.pid)
            if not_frontend is None or (fe is not None and fe != not_frontend):
                last = probe(rec, creds, min(2.0, max(0.2, deadline - time.monotonic())))
                if last.ok and (min_generation is None or last.generation is None or last.generation >= min_generation):
                    if http_ready(rec) or time.monotonic() > deadline - 1.0:  # every worker up (/readyz), not only the front door
                        return Readiness(True, rec, last)
                if last.auth_rejected and http_ready(rec):
                    return Readiness(True, rec, last, note=f"ready by /readyz; the gateway refused our credentials "
                                                           f"({creds.source or 'none found'}): {last.error}")
        if time.monotonic() > deadline:
            return Readiness(False, rec, last, timed_out=True)
        time.sleep(0.1)


def log_excerpt(path: Path, offset: int = 0, lines: int = 20) -> list[str]:
    from .process_path import tail_since

    return tail_since(path, offset, lines)
