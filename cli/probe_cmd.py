"""`openclaw gateway probe`: every gateway this CLI knows, probed concurrently within one time budget.

Targets and their credentials: `probe_targets.py`; one probe: `gateway_probe.py`; the SSH tunnel:
`ssh_tunnel.py`. `--timeout` (default 3000 ms) is the overall budget: the probes of the known
targets start at once, the tunnel (if any) is opened meanwhile and its probe gets what is left.
Output in upstream's `--json` shape; exit 1 only when no target is reachable.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.paths import resolve_paths

from .gateway_probe import ProbeResult, probe_gateway, strongest_capability
from .globals import OPTIONS
from .output import fail, fail_json, print_json
from .probe_targets import (
    KIND_ORDER,
    ProbeTarget,
    base_targets,
    is_ws_url,
    local_port,
    remote_credentials,
)
from .ssh_tunnel import SshTarget, Tunnel, TunnelError, open_tunnel, parse_ssh_target
from .status_cmd import check_port_option, usage_error

MULTIPLE = (
    "Unconventional setup: multiple reachable gateway identities detected. Usually one gateway per network is "
    "recommended unless you intentionally run isolated profiles, like a rescue bot (see docs: "
    "/gateway#multiple-gateways-same-host)."
)
SCOPE_LIMITED = (
    "Read-probe diagnostics are limited by gateway scopes (missing operator.read). Connection succeeded, but "
    "read-only status calls are incomplete. Hint: pair device identity or use credentials with operator.read."
)
NONE_REACHABLE = (
    "No gateway answered any probe. Run `openclaw gateway status --deep --require-rpc` to inspect service state, "
    "config paths, listener owners, and logs."
)
TUNNEL_RESERVE_MS = 300  # what the tunnel's probe keeps of the budget
RESULT_GRACE_S = 1.0


class Aborted(BaseException):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@contextmanager
def abort_on_signals() -> Iterator[None]:
    """SIGTERM/SIGINT unwind the probe (every `finally` runs, so the ssh tunnel is ended by PID), then
    the process exits 143/130 at once, without waiting for the probe threads' budgets."""
    def on_signal(signum: int, frame: Any) -> None:
        raise Aborted(128 + signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except Aborted as exc:
        sys.stderr.write("gateway probe: interrupted\n")
        sys.stderr.flush()
        os._exit(exc.code)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def probe_cmd(
    url: str | None, token: str | None, password: str | None, timeout: int, as_json: bool, port: int | None,
    ssh: str | None, ssh_identity: str | None, ssh_auto: bool,
) -> None:
    started = time.monotonic()
    if timeout <= 0:
        usage_error("--timeout must be a positive number of milliseconds", as_json)
    check_port_option(port, as_json)
    if url is not None and not is_ws_url(url.strip()):
        usage_error(f"--url must be a ws:// or wss:// URL, got {url!r}", as_json)
    if url and not (token or password):
        message = "gateway url override requires explicit credentials\nFix: pass --token or --password with --url."
        if as_json:
            fail_json({"type": "gateway_credentials_required", "message": message})
        fail(f"openclaw: {message}", ExitCode.FAILURE)
    paths = resolve_paths(OPTIONS.effective_profile)
    config: dict[str, Any] = {}
    warnings: list[dict[str, Any]] = []
    try:
        config = load_config(paths.config_path).data
    except ConfigRefusal as exc:
        warnings.append({"code": "config_invalid", "message": f"{exc} (probing the defaults)", "targetIds": []})
    use_config_remote = port is None or bool(url)
    raw_ssh = ssh or (config_value(config, "gateway.remote.sshTarget") if use_config_remote else None)
    identity = ssh_identity or (config_value(config, "gateway.remote.sshIdentity") if use_config_remote else None)
    ssh_target = None
    if isinstance(raw_ssh, str) and raw_ssh.strip():
        ssh_target = parse_ssh_target(raw_ssh)
        if ssh_target is None:
            if ssh:
                usage_error(f"--ssh: not a valid SSH target {ssh!r} (use user@host or user@host:port)", as_json)
            warnings.append({"code": "ssh_target_invalid", "message": f"gateway.remote.sshTarget {raw_ssh!r} is not a valid SSH target"})
    if ssh_auto and ssh_target is None:
        warnings.append({"code": "ssh_auto_unavailable", "message": "--ssh-auto needs Bonjour discovery, which this gateway CLI does not do; pass --ssh user@host"})
    targets = base_targets(paths, config, url, token, password, port)
    remote_port = _remote_port(config, port, paths)
    deadline = started + timeout / 1000
    with abort_on_signals():
        probed, tunnel_error = _run(targets, ssh_target, identity if isinstance(identity, str) else None,
                                    remote_port, config, token, password, deadline)
    if ssh_target is not None and tunnel_error:
        warnings.insert(0, {"code": "ssh_tunnel_failed", "message": f"SSH tunnel failed: {tunnel_error}", "targetIds": []})
    out = _report(probed, warnings, started, timeout, paths, config, port)
    if as_json:
        print_json(out)
    else:
        from .probe_render import print_probe

        print_probe(out)
    if not out["ok"]:
        raise SystemExit(ExitCode.FAILURE)


def _remote_port(config: dict[str, Any], port: int | None, paths: Any) -> int:
    if port is not None:
        return port
    configured = config_value(config, "gateway.remote.remotePort")
    if isinstance(configured, int) and not isinstance(configured, bool) and 1 <= configured <= 65535:
        return configured
    cfg_port = config_value(config, "gateway.port")
    if isinstance(cfg_port, int) and not isinstance(cfg_port, bool):
        return cfg_port
    return local_port(paths, {}, None)[0]


def _remaining_ms(deadline: float) -> int:
    return max(1, int((deadline - time.monotonic()) * 1000))


def _probe(target: ProbeTarget, deadline: float) -> ProbeResult:
    return probe_gateway(target.url, target.token, target.password, _remaining_ms(deadline),
                         tls_fingerprint=target.tls_fingerprint if target.url.startswith("wss://") else None)


def _run(
    targets: list[ProbeTarget], ssh_target: SshTarget | None, identity: str | None, remote_port: int,
    config: dict[str, Any], token: str | None, password: str | None, deadline: float,
) -> tuple[list[tuple[ProbeTarget, ProbeResult]], str | None]:
    tunnel: Tunnel | None = None
    tunnel_error: str | None = None
    pool = ThreadPoolExecutor(max_workers=len(targets) + 1, thread_name_prefix="probe")
    try:
        futures: list[tuple[ProbeTarget, Future[ProbeResult]]] = [(t, pool.submit(_probe, t, deadline)) for t in targets]
        if ssh_target is not None:
            try:
                tunnel = open_tunnel(ssh_target, remote_port, identity, max(250, _remaining_ms(deadline) - TUNNEL_RESERVE_MS))
            except TunnelError as exc:
                tunnel_error = str(exc)
            if tunnel is not None:
                t_token, t_password, t_source = remote_credentials(config, token, password)
                t = ProbeTarget(
                    "sshTunnel", "sshTunnel", f"ws://127.0.0.1:{tunnel.local_port}", True, t_token, t_password, t_source,
                    tunnel=tunnel.info(),
                )
                futures.insert(0, (t, pool.submit(_probe, t, deadline)))
        return [(t, _result(t, f, deadline)) for t, f in futures], tunnel_error
    finally:
        if tunnel is not None:
            tunnel.close()
        pool.shutdown(wait=False)


def _result(target: ProbeTarget, future: Future[ProbeResult], deadline: float) -> ProbeResult:
    """Each probe is bounded by its client's deadline; this bounds what is not (a name lookup)."""
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()) + RESULT_GRACE_S)
    except FutureTimeout:
        return ProbeResult(url=target.url, error="timeout (no answer within the probe budget)", error_code="timeout")


def _config_summary(snapshot: Any) -> dict[str, Any] | None:
    if not isinstance(snapshot, dict):
        return None
    parsed = snapshot.get("parsed") if isinstance(snapshot.get("parsed"), dict) else {}
    gw = parsed.get("gateway") if isinstance(parsed.get("gateway"), dict) else {}
    auth = gw.get("auth") if isinstance(gw.get("auth"), dict) else {}
    remote = gw.get("remote") if isinstance(gw.get("remote"), dict) else {}
    return {
        "path": snapshot.get("path"), "exists": bool(snapshot.get("exists")), "valid": bool(snapshot.get("valid")),
        "issues": snapshot.get("issues") or [],
        "gateway": {
            "mode": gw.get("mode"), "bind": gw.get("bind"), "port": gw.get("port"), "authMode": auth.get("mode"),
            "authTokenConfigured": bool(auth.get("token")), "authPasswordConfigured": bool(auth.get("password")),
            "remoteUrl": remote.get("url"),
        },
    }


def _target_json(t: ProbeTarget, r: ProbeResult, same_as: str | None) -> dict[str, Any]:
    status = r.answers.get("status")
    out: dict[str, Any] = {
        "id": t.id, "kind": t.kind, "url": t.url, "active": t.active, "tunnel": t.tunnel,
        "connect": {
            "ok": r.reached, "rpcOk": r.ok, "scopeLimited": r.scope_limited, "latencyMs": r.latency_ms,
            "error": r.error, "close": r.close,
        },
        "auth": r.auth_json(),
        "server": dict(r.server) if r.connected else {"version": None, "connId": None},
        "self": r.self_presence(),
        "config": _config_summary(r.answers.get("config.get")),
        "health": r.answers.get("health"),
        "summary": status,
        "presence": r.answers.get("system-presence"),
        "version": r.server.get("version"),
        "profile": t.profile,
        "credentialSource": t.credential_source,
        "durationMs": r.duration_ms,
        "identity": r.identity if r.connected else None,
        "sameGatewayAs": same_as,
    }
    if isinstance(status, dict):
        out["pid"] = status.get("pid")
    if t.port_source:
        out["portSource"] = t.port_source
    if t.notes:
        out["notes"] = list(t.notes)
    return out


def _report(
    probed: list[tuple[ProbeTarget, ProbeResult]], warnings: list[dict[str, Any]], started: float, timeout: int,
    paths: Any, config: dict[str, Any], port: int | None,
) -> dict[str, Any]:
    reachable = [(t, r) for t, r in probed if r.reached]
    identities: dict[str, str] = {}  # identity -> the first target id that showed it
    same_as: dict[str, str | None] = {}
    for t, r in probed:
        if not r.reached:
            continue
        key = r.identity if r.connected else f"url:{t.url}"
        same_as[t.id] = identities.get(key)
        identities.setdefault(key, t.id)
    if not reachable:
        warnings.append({"code": "no_gateway_reachable", "message": NONE_REACHABLE, "targetIds": [t.id for t, _ in probed]})
    if len(identities) > 1:
        warnings.append({"code": "multiple_gateways", "message": MULTIPLE, "targetIds": [t.id for t, _ in reachable]})
    for t, r in probed:
        if r.reached and not r.connected:
            code = "probe_pairing_pending" if r.capability == "pairing_pending" else "probe_auth_failed"
            where = f" (credential: {t.credential_source})" if t.credential_source else " (no credential found for it)"
            warnings.append({"code": code, "message": f"{t.url} refused the connect: {r.error}{where}", "targetIds": [t.id]})
        elif r.connected and r.scope_limited:
            warnings.append({"code": "probe_scope_limited", "message": SCOPE_LIMITED, "targetIds": [t.id]})
        elif r.connected and not r.ok:
            detail = f": {r.error}" if r.error else "."
            warnings.append({
                "code": "probe_detail_failed",
                "message": f"Gateway accepted the WebSocket connection, but follow-up read diagnostics failed{detail}",
                "targetIds": [t.id],
            })
    primary = next((t.id for kind in KIND_ORDER for t, r in reachable if t.kind == kind), None)
    lport, _ = local_port(paths, config, port)
    scheme = "wss" if config_value(config, "gateway.tls.enabled") is True else "ws"
    return {
        "ok": bool(reachable),
        "degraded": any(r.reached and not r.ok for _, r in probed),
        "capability": strongest_capability([r.capability for _, r in reachable]),
        "ts": int(time.time() * 1000),
        "durationMs": int((time.monotonic() - started) * 1000),
        "timeoutMs": timeout,
        "primaryTargetId": primary,
        "warnings": warnings,
        "network": {"localLoopbackUrl": f"{scheme}://127.0.0.1:{lport}", "localTailnetUrl": None, "tailnetIPv4": None},
        "discovery": {"timeoutMs": 0, "count": 0, "beacons": [], "supported": False},
        "targets": [_target_json(t, r, same_as.get(t.id)) for t, r in probed],
    }
