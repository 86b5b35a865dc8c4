"""The gateway's effective settings, resolved from flags, environment and the config file.

Precedence (spec §7): port `--port` > OPENCLAW_GATEWAY_PORT > gateway.port > profile default;
bind `--bind` > gateway.bind > loopback; secrets from flags > env > config.
Every refusal raises ConfigRefusal (exit 78) with a message a person can act on.
Reading the file is config_file.py; the schema is config_schema.py.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from typing import Any

import msgspec

from . import canvas_config, tailscale
from .config_file import LoadedConfig
from .config_lookup import config_value as config_value  # re-exported for `from openclaw.ipc.config import config_value`
from .config_schema import AUTH_MODES, BIND_MODES, RELOAD_MODES, first_error_text, validate
from .errors import ConfigRefusal
from .launch import LaunchOptions
from .log_files import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES, DEFAULT_RETENTION_DAYS, configured_log_file
from .paths import Paths, profile_default_port
from .tls_material import TlsSettings, resolve_tls

MIN_SECRET_CHARS = 24  # shorter tokens/passwords start with a warning (supervisor/bootstrap.py, `openclaw doctor`)
PLACEHOLDER_SECRETS = {
    "", "undefined", "null", "none", "changeme", "change-me", "your-token", "<token>", "__openclaw_redacted__",
}


class ResolvedGateway(msgspec.Struct, kw_only=True):
    """The supervisor's resolved view of config + flags + env; sent to every child."""

    profile: str | None
    state_dir: str
    config_path: str
    config_exists: bool
    config_hash: str
    port: int
    port_source: str
    bind_mode: str
    bind_hosts: list[str]
    auth_mode: str
    token: str | None = None
    password: str | None = None
    secret_source: str | None = None
    runtime_token_file: str | None = None
    reload_mode: str = "hybrid"
    log_file: str
    verbose: bool = False
    ws_log: str = "auto"
    raw_stream: bool = False
    raw_stream_path: str | None = None
    log_level: str = "info"
    log_rolling: bool = False  # the file name carries the date: a new file at local midnight
    log_max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    log_max_files: int = DEFAULT_MAX_FILES
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    console_level: str | None = None  # None: info, or warn when the output is a regular file
    console_style: str | None = None  # None: pretty on a terminal, compact otherwise
    tick_interval_ms: int = 30000
    handshake_timeout_ms: int = 15000
    control_ui_enabled: bool = True
    restart_allowed: bool = True  # commands.restart; false blocks SIGUSR1 and restart RPCs
    canvas_port: int | None = None  # the canvas host's port as asked (0: ephemeral); None: off (ipc/canvas_config.py)
    tls: TlsSettings | None = None  # gateway.tls (tls_material.py): wss/https on the same port
    tailscale_mode: str = "off"  # --tailscale > gateway.tailscale.mode (ipc/tailscale.py)
    tailscale_reset_on_exit: bool = False


def parse_port_value(text: str, source: str) -> int:
    """`1234`, `host:1234` or `[v6]:1234`."""
    value = text.strip()
    m = re.fullmatch(r"(?:\[[^\]]+\]:|[^:\[\]]+:)?(\d{1,5})", value)
    if not m:
        raise ConfigRefusal(f"Invalid port in {source}: {text!r} (use 1234, host:1234 or [v6]:1234)")
    port = int(m.group(1))
    if port > 65535:
        raise ConfigRefusal(f"Invalid port in {source}: {port} is above 65535")
    return port


def _resolve_port(opts: LaunchOptions, data: dict[str, Any], profile: str | None, env: dict[str, str]) -> tuple[int, str]:
    if opts.port is not None:
        return opts.port, "cli --port"
    env_port = env.get("OPENCLAW_GATEWAY_PORT")
    if env_port:
        return parse_port_value(env_port, "OPENCLAW_GATEWAY_PORT"), "env OPENCLAW_GATEWAY_PORT"
    cfg_port = config_value(data, "gateway.port")
    if cfg_port is not None:
        if isinstance(cfg_port, bool) or not isinstance(cfg_port, int) or not 0 <= cfg_port <= 65535:
            raise ConfigRefusal(f"Invalid gateway.port: {cfg_port!r} (an integer 0..65535)")
        return cfg_port, "config gateway.port"
    return profile_default_port(profile), "default"


def ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _resolve_bind(opts: LaunchOptions, data: dict[str, Any]) -> tuple[str, list[str]]:
    mode = opts.bind or config_value(data, "gateway.bind") or "loopback"
    if mode not in BIND_MODES:
        raise ConfigRefusal(f"Invalid bind mode {mode!r}. Use one of: {', '.join(BIND_MODES)}.")
    if mode == "tailnet":
        return mode, [tailscale.tailnet_bind_host()[0]]  # exit 1 when tailscale is missing / logged out
    if mode in ("loopback", "auto"):
        hosts = ["127.0.0.1"] + (["::1"] if ipv6_loopback_available() else [])
    elif mode == "lan":
        hosts = ["0.0.0.0"]
    else:
        host = config_value(data, "gateway.customBindHost")
        if not isinstance(host, str) or not host:
            raise ConfigRefusal("gateway.bind is 'custom' but gateway.customBindHost is not set.")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigRefusal(f"gateway.customBindHost must be an IP address, got {host!r}.") from None
        hosts = [host]
    return mode, hosts


def _resolve_tailscale(opts: LaunchOptions, data: dict[str, Any], bind_mode: str) -> tuple[str, bool]:
    mode = opts.tailscale or config_value(data, "gateway.tailscale.mode") or "off"
    if mode not in tailscale.MODES:
        raise ConfigRefusal(f"Invalid tailscale mode {mode!r}. Use one of: {', '.join(tailscale.MODES)}.")
    if mode != "off" and bind_mode not in ("loopback", "auto"):
        raise ConfigRefusal(
            f"Tailscale {mode} proxies to 127.0.0.1, so it needs gateway.bind loopback (current: {bind_mode})."
        )
    reset = opts.tailscale_reset_on_exit or config_value(data, "gateway.tailscale.resetOnExit") is True
    return mode, bool(reset)


def _secret(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigRefusal(f"{where} must be a string (secret references are not supported yet).")
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        raise ConfigRefusal(f"{where} is blank or a placeholder ({value!r}); set a real secret.")
    return value


def resolve_gateway(
    opts: LaunchOptions, paths: Paths, loaded: LoadedConfig, env: dict[str, str] | None = None
) -> ResolvedGateway:
    """Apply the start-up rules. Raises ConfigRefusal (78) or StartFailure (1)."""
    env = os.environ if env is None else env
    data = loaded.data
    errors, _warnings = validate(data)
    if errors:
        raise ConfigRefusal(f"Invalid config {loaded.path}: {first_error_text(errors)}")
    if not opts.allow_unconfigured:
        profile_flag = {None: "", "dev": "--dev "}.get(paths.profile, f"--profile {paths.profile} ")
        if not loaded.exists:
            raise ConfigRefusal(
                f"Missing config ({loaded.path}). Run `openclaw {profile_flag}setup` (or `openclaw {profile_flag}onboard "
                "--mode local`), set gateway.mode=local, or pass --allow-unconfigured."
            )
        mode = config_value(data, "gateway.mode")
        if mode is None:
            raise ConfigRefusal(
                "Gateway start blocked: existing config is missing gateway.mode. Treat this as suspicious "
                f"or clobbered config. If it is yours, set it: `openclaw {profile_flag}config set gateway.mode local` "
                f"(or replace the file: `openclaw {profile_flag}setup --force`), or pass --allow-unconfigured."
            )
        if mode != "local":
            raise ConfigRefusal(
                f"Gateway start blocked: set gateway.mode=local (current: {mode}) or pass --allow-unconfigured."
            )
    port, port_source = _resolve_port(opts, data, paths.profile, env)
    bind_mode, hosts = _resolve_bind(opts, data)

    auth_mode = opts.auth or config_value(data, "gateway.auth.mode")
    if auth_mode is not None and auth_mode not in AUTH_MODES:  # --auth is not schema-checked
        raise ConfigRefusal(f'Invalid gateway.auth.mode {auth_mode!r}. Use "none", "token", "password", or "trusted-proxy".')
    token, token_src = None, None
    for value, src in (
        (opts.token, "cli --token"),
        (env.get("OPENCLAW_GATEWAY_TOKEN"), "env OPENCLAW_GATEWAY_TOKEN"),
        (config_value(data, "gateway.auth.token"), "config gateway.auth.token"),
    ):
        token = _secret(value, src)
        if token is not None:
            token_src = src
            break
    password, password_src = None, None
    for value, src in (
        (opts.password, "cli --password"),
        (env.get("OPENCLAW_GATEWAY_PASSWORD"), "env OPENCLAW_GATEWAY_PASSWORD"),
        (config_value(data, "gateway.auth.password"), "config gateway.auth.password"),
    ):
        password = _secret(value, src)
        if password is not None:
            password_src = src
            break
    if auth_mode is None:
        auth_mode = "password" if (password and not token) else "token"
    if auth_mode == "trusted-proxy":
        raise ConfigRefusal("gateway.auth.mode 'trusted-proxy' is not supported by this gateway yet.")
    loopback_only = bind_mode != "tailnet" and all(is_loopback_host(h) for h in hosts)
    ts_mode, ts_reset = _resolve_tailscale(opts, data, bind_mode)
    tailscale.refuse_unsafe_auth(ts_mode, auth_mode)
    if auth_mode == "password" and not password:
        raise ConfigRefusal(
            "Gateway auth is set to password, but no password is configured. Set gateway.auth.password "
            "(or OPENCLAW_GATEWAY_PASSWORD), or pass --password."
        )
    if not loopback_only and (auth_mode == "none" or (auth_mode == "token" and not token)):
        raise ConfigRefusal(
            f"Refusing to bind gateway to {bind_mode} ({', '.join(hosts)}) without auth. "
            "Set gateway.auth.token/password (or OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD) "
            "or pass --token/--password."
        )
    secret_source = token_src if auth_mode == "token" else password_src if auth_mode == "password" else None

    reload_mode = config_value(data, "gateway.reload.mode", "hybrid")
    if reload_mode not in RELOAD_MODES:
        raise ConfigRefusal(f"Invalid gateway.reload.mode {reload_mode!r}. Use one of: {', '.join(RELOAD_MODES)}.")
    log_file = config_value(data, "logging.file")
    if log_file is not None and not isinstance(log_file, str):
        raise ConfigRefusal("logging.file must be a path string.")
    log_path, log_rolling = configured_log_file(log_file, paths.profile)
    handshake_ms = 15000
    env_hs = env.get("OPENCLAW_HANDSHAKE_TIMEOUT_MS")
    if env_hs:
        try:
            handshake_ms = max(100, int(env_hs))
        except ValueError:
            raise ConfigRefusal(f"OPENCLAW_HANDSHAKE_TIMEOUT_MS must be an integer, got {env_hs!r}") from None
    ui_enabled = config_value(data, "gateway.controlUi.enabled", True)
    tls = resolve_tls(data, paths.state_dir)
    log_level = config_value(data, "logging.level", "info")
    return ResolvedGateway(
        profile=paths.profile,
        state_dir=str(paths.state_dir),
        config_path=str(paths.config_path),
        config_exists=loaded.exists,
        config_hash=loaded.hash,
        port=port,
        port_source=port_source,
        bind_mode=bind_mode,
        bind_hosts=hosts,
        auth_mode=auth_mode,
        token=token,
        password=password,
        secret_source=secret_source,
        reload_mode=reload_mode,
        log_file=str(log_path),
        log_rolling=log_rolling,
        log_max_file_bytes=config_value(data, "logging.maxFileBytes", DEFAULT_MAX_FILE_BYTES),
        log_max_files=config_value(data, "logging.maxFiles", DEFAULT_MAX_FILES),
        log_retention_days=config_value(data, "logging.retentionDays", DEFAULT_RETENTION_DAYS),
        console_level=config_value(data, "logging.consoleLevel"),
        console_style=config_value(data, "logging.consoleStyle"),
        verbose=opts.verbose,
        ws_log=opts.ws_log,
        raw_stream=opts.raw_stream,
        raw_stream_path=opts.raw_stream_path,
        handshake_timeout_ms=handshake_ms,
        control_ui_enabled=bool(ui_enabled),
        log_level=log_level,
        restart_allowed=config_value(data, "commands.restart", True) is not False,
        canvas_port=canvas_config.resolve_port(data, env, port),
        tls=tls,
        tailscale_mode=ts_mode,
        tailscale_reset_on_exit=ts_reset,
    )
