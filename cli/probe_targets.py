"""Which gateways `gateway probe` tries, each with the credentials that belong to it.

In order, one target per URL (the first wins): `explicit` (--url), `configRemote`
(gateway.remote.url), `localLoopback` (ws://127.0.0.1:<port>, port from --port, env, the running
instance or the config; always probed, even with --url) and `profile:<name>` for every other
running gateway of this user registered on this host. The `sshTunnel` target is added once its
tunnel is up (probe_cmd.py). With --port and no --url only the local port is probed, as upstream.

Credentials: --token/--password apply to every target. Otherwise the local target uses this shell's
(env, config, runtime token file), the remote one gateway.remote.token/password, and another
profile's gateway that profile's own config or runtime token file (never this shell's env).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.ipc.config import config_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.instance_registry import Instance, list_instances
from openclaw.ipc.paths import Paths

from .target import credentials_for, resolve_local_port

KIND_ORDER = ("explicit", "sshTunnel", "configRemote", "localLoopback", "profile")


@dataclass
class ProbeTarget:
    id: str
    kind: str
    url: str
    active: bool
    token: str | None = None
    password: str | None = None
    credential_source: str | None = None
    profile: str | None = None
    port_source: str | None = None
    tunnel: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    tls_fingerprint: str | None = None  # wss: the pinned certificate (cli/tls_pin.py)


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/")


def is_ws_url(url: str) -> bool:
    return url.startswith(("ws://", "wss://"))


def add_unique(targets: list[ProbeTarget], target: ProbeTarget) -> bool:
    key = normalize_url(target.url)
    if any(normalize_url(t.url) == key for t in targets):
        return False
    targets.append(target)
    return True


def _scheme(config: dict[str, Any]) -> str:
    return "wss" if config_value(config, "gateway.tls.enabled") is True else "ws"


def local_port(paths: Paths, config: dict[str, Any], port: int | None) -> tuple[int, str]:
    return (port, "cli --port") if port is not None else resolve_local_port(paths, config)


def remote_credentials(config: dict[str, Any], token: str | None, password: str | None) -> tuple[str | None, str | None, str | None]:
    if token or password:
        return token, password, "cli"
    r_token = config_value(config, "gateway.remote.token")
    if isinstance(r_token, str) and r_token:
        return r_token, None, "config gateway.remote.token"
    r_password = config_value(config, "gateway.remote.password")
    if isinstance(r_password, str) and r_password:
        return None, r_password, "config gateway.remote.password"
    return None, None, None


def base_targets(
    paths: Paths, config: dict[str, Any], url: str | None, token: str | None, password: str | None, port: int | None,
) -> list[ProbeTarget]:
    targets: list[ProbeTarget] = []
    remote_mode = config_value(config, "gateway.mode") == "remote"
    if url:
        add_unique(targets, ProbeTarget("explicit", "explicit", normalize_url(url), True, token, password, "cli"))
    lport, lsource = local_port(paths, config, port)
    l_token, l_password, l_source = credentials_for(paths, config, token, password)
    local = ProbeTarget(
        "localLoopback", "localLoopback", f"{_scheme(config)}://127.0.0.1:{lport}", port is not None or not remote_mode,
        l_token, l_password, l_source, paths.profile or "default", lsource,
    )
    if local.url.startswith("wss://"):
        from openclaw.ipc.tls_material import gateway_tls_fingerprint

        local.tls_fingerprint = gateway_tls_fingerprint(config, paths.state_dir)
    if port is not None and not url:
        add_unique(targets, local)
        return targets
    remote_url = config_value(config, "gateway.remote.url")
    if isinstance(remote_url, str) and is_ws_url(remote_url.strip()):
        r_token, r_password, r_source = remote_credentials(config, token, password)
        from openclaw.ipc.tls_material import normalize_fingerprint

        add_unique(targets, ProbeTarget("configRemote", "configRemote", normalize_url(remote_url), remote_mode, r_token, r_password, r_source,
                                        tls_fingerprint=normalize_fingerprint(config_value(config, "gateway.remote.tlsFingerprint"))))
    add_unique(targets, local)
    others = other_gateways(paths)
    names = [i.profile_name for i in others]
    for inst in others:
        add_unique(targets, profile_target(inst, token, password, duplicate=names.count(inst.profile_name) > 1))
    return targets


def other_gateways(paths: Paths) -> list[Instance]:
    mine = _resolved(paths.state_dir)
    return [i for i in list_instances(paths.home) if i.alive and _resolved(Path(i.record.state_dir)) != mine]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _probe_host(bind_hosts: list[str]) -> str:
    for host in bind_hosts:
        if host in ("127.0.0.1", "0.0.0.0", "::"):
            return "127.0.0.1"
    for host in bind_hosts:
        if host == "::1":
            return "[::1]"
    return bind_hosts[0] if bind_hosts else "127.0.0.1"


def profile_target(inst: Instance, token: str | None, password: str | None, duplicate: bool = False) -> ProbeTarget:
    rec = inst.record
    other = Paths(home=Path(), profile=rec.profile, state_dir=Path(rec.state_dir), config_path=Path(rec.config_path))
    config: dict[str, Any] = {}
    notes = []
    try:
        config = load_config(other.config_path).data
    except ConfigRefusal as exc:
        notes.append(f"its config could not be read: {exc}")
    p_token, p_password, p_source = credentials_for(other, config, token, password, use_env=False)
    name = inst.profile_name if not duplicate else f"{inst.profile_name}@{inst.path.stem}"
    return ProbeTarget(
        f"profile:{name}", "profile", f"{_scheme(config)}://{_probe_host(rec.bind_hosts)}:{rec.port}", False,
        p_token, p_password, p_source, inst.profile_name, "instance record", notes=notes,
    )
