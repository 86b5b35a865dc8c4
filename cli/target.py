"""Which gateway a client command talks to, and with which credentials.

URL: --url > OPENCLAW_GATEWAY_URL > ws://127.0.0.1:<port>, where port is
OPENCLAW_GATEWAY_PORT > the running instance of this state dir > gateway.port >
the profile's default. Credentials: flags > env > the service's env file > config > the runtime
token file (credentials_for).
`--url` without explicit credentials is refused before connecting (spec §4).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw.ipc.config import config_value, parse_port_value
from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.instance_registry import running_instance
from openclaw.ipc.paths import Paths, profile_default_port, resolve_paths

from .globals import OPTIONS


class CredentialsRequired(Exception):
    pass


@dataclass
class Target:
    url: str
    url_source: str
    token: str | None
    password: str | None
    credential_source: str | None
    paths: Paths
    port: int | None
    port_source: str | None
    config: dict[str, Any]
    config_error: str | None
    tls_fingerprint: str | None = None  # wss: the certificate pinned (tls_pin.py)


class BadTlsFingerprint(ValueError):
    pass


def resolve_target(
    url: str | None, token: str | None, password: str | None, tls_fingerprint: str | None = None
) -> Target:
    paths = resolve_paths(OPTIONS.effective_profile)
    config: dict[str, Any] = {}
    config_error = None
    try:
        config = load_config(paths.config_path).data
    except ConfigRefusal as exc:
        config_error = str(exc)
    port: int | None = None
    port_source: str | None = None
    if url:
        if not (token or password):
            raise CredentialsRequired(
                "gateway url override requires explicit credentials\n"
                f"With --url {url} the CLI sends only --token / --password: it does not use OPENCLAW_GATEWAY_TOKEN, "
                "gateway.auth.* in the config or the runtime token file, which belong to this machine's gateway.\n"
                "Fix: pass --token or --password (or unset --url to use this machine's gateway config)."
            )
        url_source = "cli --url"
    elif os.environ.get("OPENCLAW_GATEWAY_URL"):
        url, url_source = os.environ["OPENCLAW_GATEWAY_URL"], "env OPENCLAW_GATEWAY_URL"
    else:
        port, port_source = resolve_local_port(paths, config)
        scheme = "wss" if config_value(config, "gateway.tls.enabled") is True else "ws"
        url, url_source = f"{scheme}://127.0.0.1:{port}", port_source
    token, password, cred_source = credentials_for(paths, config, token, password)
    from .tls_pin import pin_for

    local_port = port if port is not None else resolve_local_port(paths, config)[0]
    try:
        pin = pin_for(url, url_source, paths, config, tls_fingerprint, local_port)
    except ValueError as exc:
        raise BadTlsFingerprint(str(exc)) from None
    return Target(url, url_source, token, password, cred_source, paths, port, port_source, config, config_error, pin)


def resolve_local_port(paths: Paths, config: dict[str, Any]) -> tuple[int, str]:
    env_port = os.environ.get("OPENCLAW_GATEWAY_PORT")
    if env_port:
        try:
            return parse_port_value(env_port, "OPENCLAW_GATEWAY_PORT"), "env OPENCLAW_GATEWAY_PORT"
        except ConfigRefusal:
            pass
    rec = running_instance(paths)
    if rec is not None:
        return rec.port, "running gateway (instance record)"
    cfg_port = config_value(config, "gateway.port")
    if isinstance(cfg_port, int) and not isinstance(cfg_port, bool):
        return cfg_port, "config gateway.port"
    return profile_default_port(paths.profile), "default"


def read_runtime_token(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None


def credentials_for(
    paths: Paths, config: dict[str, Any], token: str | None, password: str | None, use_env: bool = True
) -> tuple[str | None, str | None, str | None]:
    """(token, password, source) for the gateway of `paths`, in the order that gateway reads them: flags >
    env (when `use_env`, i.e. the invoking shell's own gateway) > the service's env file (what
    `gateway install --token` stored: the service's gateway gets it as its environment) > that config's
    gateway.auth > that state dir's runtime token file."""
    if token or password:
        return token, password, "cli"
    if use_env and os.environ.get("OPENCLAW_GATEWAY_TOKEN"):
        return os.environ["OPENCLAW_GATEWAY_TOKEN"], None, "env OPENCLAW_GATEWAY_TOKEN"
    if use_env and os.environ.get("OPENCLAW_GATEWAY_PASSWORD"):
        return None, os.environ["OPENCLAW_GATEWAY_PASSWORD"], "env OPENCLAW_GATEWAY_PASSWORD"
    service_env = read_service_env(paths)
    if service_env.get("OPENCLAW_GATEWAY_TOKEN"):
        return service_env["OPENCLAW_GATEWAY_TOKEN"], None, f"service env file ({service_env_file(paths)})"
    if service_env.get("OPENCLAW_GATEWAY_PASSWORD"):
        return None, service_env["OPENCLAW_GATEWAY_PASSWORD"], f"service env file ({service_env_file(paths)})"
    cfg_token = config_value(config, "gateway.auth.token")
    if isinstance(cfg_token, str) and cfg_token:
        return cfg_token, None, f"config gateway.auth.token ({paths.config_path})"
    cfg_password = config_value(config, "gateway.auth.password")
    if isinstance(cfg_password, str) and cfg_password:
        return None, cfg_password, f"config gateway.auth.password ({paths.config_path})"
    runtime = read_runtime_token(paths.runtime_token_file)
    if runtime:
        return runtime, None, f"runtime token file ({paths.runtime_token_file})"
    return None, None, None


def service_env_file(paths: Paths) -> Path:
    return paths.state_dir / "gateway.env"


def read_service_env(paths: Paths) -> dict[str, str]:
    """KEY=VALUE lines of the service's EnvironmentFile (`gateway install` writes it 0600)."""
    try:
        text = service_env_file(paths).read_text()
    except (OSError, UnicodeDecodeError):
        return {}
    from .service.definition import parse_env_file

    return parse_env_file(text)
