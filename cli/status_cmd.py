"""`openclaw gateway status`: what the service manager thinks, and separately what the gateway answers.

Gathers (upstream's `--json` keys): `service` (the ServiceView of this profile, runtime from the
manager or the instance record), `config` (cli and daemon paths), `gateway` (bind, port and where
the port came from, probe URL), `port` (every listener, attributed), `lastError` (when the gateway
looks running but its port is closed or does not answer: the newest error line of its log, read
from a bounded tail), `rpc` (WS connect + `status`), and with `--deep` `extraServices` (other
gateway-like service definitions and every other registered gateway: status_deep.py).
Rendering is `status_render.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.config_schema import validate
from openclaw.ipc.control_ui_links import links as control_ui_links
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.instance_registry import (
    InstanceRecord,
    list_instances,
    running_instance,
)
from openclaw.ipc.log_files import current_log_file
from openclaw.ipc.paths import Paths
from openclaw.ipc.version import BUILD_ID, COMPAT_VERSION

from .gateway_probe import STATUS_DETAIL, ProbeResult, probe_gateway
from .log_tail import last_error_line
from .output import fail, fail_json, print_json
from .port_report import port_report
from .rpc import target_or_exit
from .service_block import looks_running, service_block
from .status_deep import gateway_entry, instance_json, service_entries
from .target import Target, resolve_local_port

REQUIRE_RPC_WITHOUT_PROBE = (
    "Gateway status failed: --require-rpc needs probing enabled. Remove --no-probe or drop --require-rpc."
)
BIND_HOSTS = {"loopback": "127.0.0.1", "lan": "0.0.0.0", "auto": "127.0.0.1", "tailnet": "127.0.0.1"}


def usage_error(message: str, as_json: bool) -> None:
    if as_json:
        fail_json({"type": "usage", "message": message}, code=ExitCode.USAGE)
    fail(message, ExitCode.USAGE)


def check_port_option(port: int | None, as_json: bool) -> None:
    if port is not None and not 1 <= port <= 65535:
        usage_error(f"--port must be 1-65535, got {port}", as_json)


def status_cmd(
    url: str | None, token: str | None, password: str | None, timeout: int, as_json: bool,
    probe: bool, require_rpc: bool, deep: bool = False, port: int | None = None, tls_fingerprint: str | None = None,
) -> None:
    if require_rpc and not probe:
        usage_error(REQUIRE_RPC_WITHOUT_PROBE, as_json)
    if timeout <= 0:
        usage_error("--timeout must be a positive number of milliseconds", as_json)
    check_port_option(port, as_json)
    target = target_or_exit(url, token, password, as_json, tls_fingerprint)
    if port is not None and not url:
        scheme = "wss" if target.url.startswith("wss://") else "ws"
        target.url, target.url_source, target.port, target.port_source = f"{scheme}://127.0.0.1:{port}", "cli --port", port, "cli"
    out = gather(target, timeout, probe, require_rpc, deep)
    if as_json:
        print_json(out)
    else:
        from .status_render import print_status

        print_status(out, deep)
    if require_rpc and not (out.get("rpc") or {}).get("ok"):
        raise SystemExit(ExitCode.FAILURE)


def gather(target: Target, timeout: int, probe: bool, require_rpc: bool, deep: bool) -> dict[str, Any]:
    paths = target.paths
    instance = running_instance(paths)
    view, inspect_error = _inspect(paths)
    service = service_block(view, inspect_error, instance)
    everyone = list_instances(paths.home)
    others = [i for i in everyone if not _same_dir(i.record.state_dir, paths.state_dir)]
    local_port, local_source = (target.port, target.port_source) if target.port else resolve_local_port(paths, target.config)
    out: dict[str, Any] = {
        "cli": {"version": COMPAT_VERSION, "buildId": BUILD_ID, "entrypoint": sys.argv[0]},
        "logFile": str(log_file_of(target.config, instance, target.paths.profile)),
        "service": service,
        "config": _config_block(target, service, instance),
        "gateway": _gateway_block(target, local_port, local_source, instance),
        "instance": _instance_json(instance, paths),
        "port": port_report(local_port, instance, others),
    }
    rpc: ProbeResult | None = None
    if probe:
        rpc = probe_gateway(
            target.url, target.token, target.password, timeout, detail=STATUS_DETAIL, display_name="gateway:status",
            tls_fingerprint=target.tls_fingerprint,
        )
        out["rpc"] = rpc_block(rpc, target, require_rpc)
        foreign = _foreign_gateway(out["rpc"], target)
        if foreign:
            out["rpc"]["foreignGateway"] = foreign
        if rpc.server.get("version"):
            out["gateway"]["version"] = rpc.server["version"]
    rpc_failed = rpc is not None and not out["rpc"]["ok"]
    if looks_running(service) and (out["port"]["status"] != "busy" or rpc_failed):
        line = last_error_line(Path(out["logFile"]), require_error=out["port"]["status"] == "busy")
        if line:
            out["lastError"] = line
    stale_own = [i for i in everyone if not i.alive and _same_dir(i.record.state_dir, paths.state_dir)]
    if stale_own:
        out["staleRecord"] = instance_json(stale_own[0])
    out["extraServices"] = [*service_entries(paths), *(gateway_entry(i) for i in others)] if deep else []
    return out


def _same_dir(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return Path(a) == b


def _inspect(paths: Paths) -> tuple[Any, str | None]:
    from .service.view import inspect_service

    try:
        return inspect_service(paths), None
    except Exception as exc:  # noqa: BLE001 (a broken service backend must not hide the rest)
        return None, f"{type(exc).__name__}: {exc}"


def log_file_of(config: dict[str, Any], instance: InstanceRecord | None, profile: str | None = None) -> Path:
    """The running gateway's own log file, else the configured one, else the profile's default
    (today's file of a dated log)."""
    recorded = instance.log_file if instance is not None else None
    return current_log_file(recorded, config_value(config, "logging.file"), profile)[0]


def _config_summary(path: Path, data: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"path": str(path), "exists": path.exists(), "valid": error is None}
    if error is None and data is not None:
        errors, _ = validate(data)
        if errors:
            out["valid"] = False
            out["issues"] = errors[:5]
    elif error is not None:
        out["issues"] = [{"path": "", "message": error}]
    return out


def _config_block(target: Target, service: dict[str, Any], instance: InstanceRecord | None) -> dict[str, Any]:
    cli = _config_summary(target.paths.config_path, target.config, target.config_error)
    daemon_path = (service.get("command") or {}).get("configPath") or (instance.config_path if instance else None)
    if not daemon_path or Path(daemon_path) == target.paths.config_path:
        return {"cli": cli, "daemon": dict(cli)}
    data, error = None, None
    try:
        data = load_config(Path(daemon_path)).data
    except ConfigRefusal as exc:
        error = str(exc)
    return {"cli": cli, "daemon": _config_summary(Path(daemon_path), data, error), "mismatch": True}


def _gateway_block(target: Target, port: int, port_source: str, instance: InstanceRecord | None) -> dict[str, Any]:
    bind_mode = config_value(target.config, "gateway.bind", "loopback")
    if instance is not None and instance.bind_hosts:
        bind_host = instance.bind_hosts[0]
    elif bind_mode == "custom":
        bind_host = config_value(target.config, "gateway.customBindHost") or "127.0.0.1"
    else:
        bind_host = BIND_HOSTS.get(str(bind_mode), "127.0.0.1")
    tls = tls_block(target)
    out: dict[str, Any] = {
        "bindMode": bind_mode, "bindHost": bind_host, "port": port, "portSource": port_source,
        "probeUrl": target.url, "probeUrlSource": target.url_source,
        "controlUiLinks": control_ui_links(port, tls["enabled"], target.config),
        "tls": tls,
    }
    if instance is not None:
        out["bindHosts"] = list(instance.bind_hosts)
    if bind_mode == "loopback" and target.url_source not in ("cli --url", "env OPENCLAW_GATEWAY_URL"):
        out["probeNote"] = "Loopback-only gateway; only local clients can connect."
    return out


def tls_block(target: Target) -> dict[str, Any]:
    """`gateway.tls` as this gateway serves it: on/off, the certificate file and its SHA-256."""
    from openclaw.ipc.tls_material import TlsSettings, colon_fingerprint, resolve_tls

    settings: TlsSettings | None
    try:
        settings = resolve_tls(target.config, target.paths.state_dir)
    except ConfigRefusal as exc:
        return {"enabled": True, "error": str(exc)}
    if settings is None:
        return {"enabled": False}
    out: dict[str, Any] = {"enabled": True, "certPath": settings.cert_path, "keyPath": settings.key_path,
                           "fingerprintSha256": settings.fingerprint}
    if settings.fingerprint:
        out["fingerprint"] = colon_fingerprint(settings.fingerprint)
    else:
        out["note"] = "no certificate yet: the gateway generates a self-signed one when it starts (autoGenerate)"
    if target.tls_fingerprint and target.url.startswith("wss://"):
        out["pinned"] = target.tls_fingerprint
    return out


def _instance_json(instance: InstanceRecord | None, paths: Paths) -> dict[str, Any] | None:
    if instance is None:
        return None
    import msgspec

    out = msgspec.to_builtins(instance)
    out["path"] = str(paths.instance_file)
    return out


def rpc_block(res: ProbeResult, target: Target, require_rpc: bool) -> dict[str, Any]:
    read_ok = res.connected and "status" in res.answers
    scope_only = res.connected and res.scope_limited and not res.failed_calls.keys() - {"status"}
    ok = read_ok or (scope_only and not require_rpc)
    out: dict[str, Any] = {
        "ok": ok,
        "kind": "read" if read_ok else "connect",
        "capability": res.capability,
        "auth": res.auth_json(),
        "server": dict(res.server),
        "version": res.server.get("version"),
        "url": target.url,
        "urlSource": target.url_source,
        "credentialSource": target.credential_source,
        "latencyMs": res.latency_ms,
        "durationMs": res.duration_ms,
    }
    if not ok or res.error:
        out["gatewayReached"] = res.reached
        out["error"] = res.error
    if res.close:
        out["close"] = res.close
    if res.reached and not res.connected:
        kind = "pairing-required" if res.capability == "pairing_pending" else "auth-rejected"
        out["connectFailure"] = {"kind": kind, "code": res.error_code, "detailCode": res.detail_code}
    if not target.credential_source and not res.connected:
        out["authWarning"] = (
            "no credential found: looked for --token/--password, OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD, "
            f"gateway.auth.token/password in {target.paths.config_path} and {target.paths.runtime_token_file}"
        )
    status = res.answers.get("status")
    if isinstance(status, dict):
        sup = status.get("supervision") or {}
        out["status"] = {
            "version": status.get("runtimeVersion"), "pid": status.get("pid"),
            **{k: sup.get(k) for k in ("bootId", "uptimeMs", "generation", "configPath", "processes", "configReload")},
        }
    return out


def _foreign_gateway(rpc: dict[str, Any], target: Target) -> str | None:
    """The gateway that answered on this profile's port runs another config (two profiles, one port)."""
    answered = (rpc.get("status") or {}).get("configPath")
    if not answered or target.url_source in ("cli --url", "env OPENCLAW_GATEWAY_URL"):
        return None
    if _same_dir(answered, target.paths.config_path):
        return None
    return (
        f"the gateway answering at {target.url} runs the config {answered}, not this profile's "
        f"{target.paths.config_path}: another profile's gateway holds this port"
    )
