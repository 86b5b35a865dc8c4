"""The config file parses and validates, and `gateway.mode` says this host runs the gateway."""

from __future__ import annotations

from openclaw.ipc.config import config_value
from openclaw.ipc.config_schema import first_error_text, validate

from .context import DoctorContext
from .model import FAIL, OK, WARN, Finding


def check(ctx: DoctorContext) -> list[Finding]:
    path = ctx.paths.config_path
    if ctx.config_error is not None:
        backup = path.with_name(path.name + ".bak")
        hint = f"fix the file, or restore the previous version {backup}" if backup.exists() else "fix the file"
        return [Finding("config.valid", FAIL, f"{ctx.config_error}: the gateway refuses to start with it", hint)]
    assert ctx.loaded is not None
    if not ctx.loaded.exists:
        return [Finding(
            "config.valid", FAIL, f"no config at {path}: the gateway refuses to start without one",
            f"`{ctx.invocation()} setup` writes a minimal one (gateway.mode=local, a generated token)",
        )]
    errors, warnings = validate(ctx.data)
    out: list[Finding] = []
    if errors:
        out.append(Finding("config.valid", FAIL, f"config {path} is invalid: {first_error_text(errors)}",
                           f"fix it (`{ctx.invocation()} config validate` lists every problem)"))
    elif warnings:
        out.append(Finding("config.valid", WARN, f"config {path} validates with warnings: {first_error_text(warnings)}"))
    else:
        out.append(Finding("config.valid", OK, f"config {path} parses and validates"))
    out.append(_mode(ctx))
    return out


def _mode(ctx: DoctorContext) -> Finding:
    mode = config_value(ctx.data, "gateway.mode")
    set_it = f"`{ctx.invocation()} config set gateway.mode local`"
    if mode is None:
        return Finding("config.mode", FAIL, "gateway.mode is not set: the gateway refuses to start "
                       "(a config without it looks clobbered)", f"check the file, then {set_it}")
    if mode != "local":
        return Finding("config.mode", WARN, f"gateway.mode is {mode!r}: this host's gateway does not start "
                       "(clients use gateway.remote.url)", f"{set_it} to run the gateway here")
    return Finding("config.mode", OK, "gateway.mode is local")
