"""Start-up rules before any socket opens: profile, dev config, config refusals, secrets.

`prepare` runs once, at start (it may create the dev config and the runtime token file);
`resolve` is what start and every reload share, and it writes nothing but a self-signed TLS pair
that `gateway.tls.autoGenerate` asks for (a reload that turns TLS on needs one too).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from openclaw.ipc.atomic import write_atomic
from openclaw.ipc.config import MIN_SECRET_CHARS, ResolvedGateway, is_loopback_host, resolve_gateway
from openclaw.ipc.config_file import LoadedConfig, load_config
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.faults import ENV as FAULTS_ENV
from openclaw.ipc.faults import FaultSpecError, parse as parse_faults
from openclaw.ipc.launch import LaunchOptions
from openclaw.ipc.paths import DEV_PORT, Paths, resolve_paths
from openclaw.ipc.tls_material import ensure_tls_material

from .state_dir import secure_state_dir

DEV_CONFIG = {
    "gateway": {"mode": "local", "port": DEV_PORT, "bind": "loopback", "auth": {"mode": "token"}},
}


@dataclass
class StartPlan:
    opts: LaunchOptions
    paths: Paths
    loaded: LoadedConfig
    gateway: ResolvedGateway
    notices: list[str]
    warnings: list[str]  # stderr and the log


def _ensure_dev_config(paths: Paths, reset: bool, notices: list[str]) -> None:
    if reset:
        if paths.state_dir.exists() and paths.state_dir.name.startswith(".openclaw-dev"):
            shutil.rmtree(paths.state_dir)
            notices.append(f"Reset dev state: removed {paths.state_dir}")
        elif paths.config_path.exists():
            paths.config_path.unlink()
            notices.append(f"Reset dev config: removed {paths.config_path}")
    if not paths.config_path.exists():
        write_atomic(paths.config_path, (json.dumps(DEV_CONFIG, indent=2) + "\n").encode(), mode=0o600)
        notices.append(f"Created dev config {paths.config_path}")


def _runtime_token(paths: Paths, notices: list[str]) -> str:
    """Token for a loopback gateway with no secret configured; the user's config is never touched."""
    f = paths.runtime_token_file
    try:
        existing = f.read_text().strip()
        if len(existing) >= 24:
            notices.append(f"No gateway token configured; using the runtime token in {f}")
            return existing
    except (FileNotFoundError, OSError):
        pass
    token = secrets.token_urlsafe(32)
    write_atomic(f, (token + "\n").encode(), mode=0o600)
    notices.append(f"No gateway token configured; generated a runtime token and stored it (0600) in {f}")
    return token


def prepare(opts: LaunchOptions, env: dict[str, str] | None = None) -> StartPlan:
    env = dict(os.environ if env is None else env)
    if opts.reset and not opts.dev:
        raise ConfigRefusal("--reset only works together with --dev.")
    profile = "dev" if opts.dev and not opts.profile else opts.profile
    source = f"--profile {opts.profile}" if opts.profile else "--dev" if opts.dev else None
    paths = resolve_paths(profile, env, source=source)  # a profile/environment conflict: ProfileConflict (78)
    notices: list[str] = []
    warnings: list[str] = []
    # before anything is written there; a start that will be refused creates no folder
    secured = opts.dev or paths.state_dir.exists()
    if secured:
        secure_state_dir(paths.state_dir, paths.home, notices, warnings)
    if opts.dev:
        _ensure_dev_config(paths, opts.reset, notices)
    if env.get(FAULTS_ENV):
        try:
            parse_faults(env[FAULTS_ENV])
        except FaultSpecError as exc:
            raise ConfigRefusal(str(exc)) from None
        notices.append(f"Fault injection is on: {FAULTS_ENV}={env[FAULTS_ENV]}")
    loaded = load_config(paths.config_path)
    if opts.password is None and opts.password_file:
        opts.password = read_password_file(Path(opts.password_file).expanduser())
    gateway = resolve_gateway(opts, paths, loaded, env)
    if not secured:
        secure_state_dir(paths.state_dir, paths.home, notices, warnings)
    notices.extend(ensure_tls_material(gateway.tls))
    if gateway.auth_mode == "token" and gateway.token is None:
        # resolve_gateway already refused non-loopback binds without a secret
        assert all(is_loopback_host(h) for h in gateway.bind_hosts)
        gateway.token = _runtime_token(paths, notices)
        gateway.secret_source = "runtime token file"
        gateway.runtime_token_file = str(paths.runtime_token_file)
    if gateway.auth_mode == "none":
        notices.append("Gateway auth is off (gateway.auth.mode=none); only loopback clients can reach it.")
    warnings.extend(weak_secret_warnings(gateway))
    return StartPlan(opts=opts, paths=paths, loaded=loaded, gateway=gateway, notices=notices, warnings=warnings)


def weak_secret_warnings(gateway: ResolvedGateway) -> list[str]:
    """Blank and placeholder secrets are refused (config.py); short ones are allowed, with a warning."""
    secret = gateway.token if gateway.auth_mode == "token" else gateway.password if gateway.auth_mode == "password" else None
    if secret is None or len(secret) >= MIN_SECRET_CHARS:
        return []
    return [f"Warning: the gateway {gateway.auth_mode} ({gateway.secret_source}) is {len(secret)} characters; "
            f"use at least {MIN_SECRET_CHARS} (e.g. `openssl rand -hex 24`)."]


def resolve(opts: LaunchOptions, paths: Paths, loaded: LoadedConfig, current: ResolvedGateway) -> ResolvedGateway:
    """The settings a reloaded config gives, as `prepare` would at start, without writing:
    the runtime token in use stays, and `--port 0` keeps the port already bound."""
    gateway = resolve_gateway(opts, paths, loaded)
    ensure_tls_material(gateway.tls)
    if gateway.auth_mode == "token" and gateway.token is None:
        if current.runtime_token_file and current.token:
            gateway.token = current.token
            gateway.secret_source = current.secret_source
            gateway.runtime_token_file = current.runtime_token_file
        else:
            raise ConfigRefusal(
                "token auth needs a token: set gateway.auth.token (a running gateway does not create one)"
            )
    if gateway.port == 0:
        gateway.port = current.port
    return gateway


def read_password_file(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigRefusal(f"Cannot read --password-file {path}: {exc.strerror or exc}") from exc
    if not text:
        raise ConfigRefusal(f"--password-file {path} is empty.")
    return text
