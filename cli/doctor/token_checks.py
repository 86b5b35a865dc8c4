"""The gateway's secret: present, not a placeholder, long enough (the gateway's own rules, ipc/config.py)."""

from __future__ import annotations

from typing import Any

from openclaw.ipc.config import MIN_SECRET_CHARS, PLACEHOLDER_SECRETS, config_value

from .context import DoctorContext
from .model import FAIL, OK, WARN, Finding

NON_LOOPBACK_BINDS = ("lan", "custom", "tailnet")


def check(ctx: DoctorContext) -> list[Finding]:
    data = ctx.data
    mode = config_value(data, "gateway.auth.mode")
    token, token_src = _first(ctx, "OPENCLAW_GATEWAY_TOKEN", "gateway.auth.token")
    password, password_src = _first(ctx, "OPENCLAW_GATEWAY_PASSWORD", "gateway.auth.password")
    if mode is None:
        mode = "password" if password is not None and token is None else "token"
    if mode == "none":
        return [Finding("auth.token", WARN, "gateway auth is off (gateway.auth.mode=none): every local process can "
                        "operate the gateway", f"`{ctx.invocation()} config set gateway.auth.mode token`")]
    if mode not in ("token", "password"):
        return [Finding("auth.token", OK, f"gateway.auth.mode is {mode!r}: no shared secret to judge")]
    secret, source = (token, token_src) if mode == "token" else (password, password_src)
    if secret is None:
        if mode == "password":
            return [Finding("auth.token", FAIL, "gateway.auth.mode is password but no password is set: the gateway "
                            "refuses to start", "set gateway.auth.password (or OPENCLAW_GATEWAY_PASSWORD)")]
        bind = config_value(data, "gateway.bind", "loopback")
        if bind in NON_LOOPBACK_BINDS:
            return [Finding("auth.token", FAIL, f"no gateway token and bind {bind!r}: the gateway refuses to start",
                            _generate_hint(ctx))]
        return [_runtime_token(ctx)]
    return [judge_secret(secret, source, mode, ctx)]


def _first(ctx: DoctorContext, env_name: str, key: str) -> tuple[Any, str]:
    value = ctx.env.get(env_name)
    if value:
        return value, f"env {env_name}"
    return config_value(ctx.data, key), f"{key} in {ctx.paths.config_path}"


def _generate_hint(ctx: DoctorContext) -> str:
    return f"`{ctx.invocation()} config set gateway.auth.token \"$(openssl rand -hex 24)\"`"


def judge_secret(secret: Any, source: str, mode: str, ctx: DoctorContext) -> Finding:
    if not isinstance(secret, str):
        return Finding("auth.token", WARN, f"the gateway {mode} ({source}) is not a plain string: not judged here")
    if secret.strip().lower() in PLACEHOLDER_SECRETS:
        return Finding("auth.token", FAIL, f"the gateway {mode} ({source}) is blank or a placeholder: the gateway "
                       "refuses to start", _generate_hint(ctx))
    if len(secret) < MIN_SECRET_CHARS:
        return Finding("auth.token", WARN, f"the gateway {mode} ({source}) is weak: {len(secret)} characters, "
                       f"use at least {MIN_SECRET_CHARS}", _generate_hint(ctx))
    return Finding("auth.token", OK, f"the gateway {mode} ({source}) is {len(secret)} characters")


def _runtime_token(ctx: DoctorContext) -> Finding:
    f = ctx.paths.runtime_token_file
    try:
        text = f.read_text().strip()
    except OSError:
        text = ""
    if not text:
        return Finding("auth.token", OK, f"no token configured: the gateway generates one at start into {f} (0600); "
                       "clients of this profile read it from there")
    if len(text) < MIN_SECRET_CHARS:
        return Finding("auth.token", WARN, f"the runtime token file {f} holds a weak token ({len(text)} characters): "
                       "the gateway replaces it at its next start", f"remove {f}, or set gateway.auth.token")
    return Finding("auth.token", OK, f"no token configured: the gateway uses its runtime token from {f} "
                   f"({len(text)} characters)")
