"""`openclaw setup` and `openclaw onboard`: the minimal config a local gateway needs, written
non-interactively and atomically (0600, state dir 0700): `gateway.mode=local`, the profile's port,
loopback bind and a generated token (`secrets.token_urlsafe(32)`). An existing config is never
replaced without `--force` (and then the previous file is kept as `<config>.bak`).
`onboard --install-daemon` runs setup (keeping an existing config) and then `gateway install`.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from openclaw.ipc.atomic import write_atomic
from openclaw.ipc.config import _secret
from openclaw.ipc.config_schema import first_error_text, validate
from openclaw.ipc.errors import ConfigRefusal, ExitCode
from openclaw.ipc.paths import Paths, profile_default_port

from .outcome import Outcome

MIN_TOKEN_CHARS = 24


def minimal_config(port: int, token: str) -> dict[str, Any]:
    return {"gateway": {"mode": "local", "port": port, "bind": "loopback", "auth": {"mode": "token", "token": token}}}


def _cli(paths: Paths) -> str:
    return f"openclaw --profile {paths.profile}" if paths.profile else "openclaw"


def setup(paths: Paths, *, port: int | None, token: str | None, force: bool) -> Outcome:
    out = Outcome("setup")
    out.extra["path"] = str(paths.config_path)
    if port is not None and not 1 <= port <= 65535:
        return out.fail(f"--port {port}: use 1..65535", ExitCode.USAGE)
    if token is not None:
        try:
            _secret(token, "--token")
        except ConfigRefusal as exc:
            return out.fail(str(exc), ExitCode.USAGE)
        if len(token) < MIN_TOKEN_CHARS:
            out.say(f"Warning: --token is {len(token)} characters; use at least {MIN_TOKEN_CHARS}.")
    exists = paths.config_path.exists() or paths.config_path.is_symlink()
    if exists and not force:
        out.extra["written"] = False
        if port is not None or token is not None:
            return out.fail(f"{paths.config_path} already exists: --port/--token were not applied. Pass --force to replace "
                            f"the file, or change one key with `{_cli(paths)} config set gateway.port <port>`.")
        return out.done(f"Config already exists: {paths.config_path}; left unchanged (--force replaces it).")
    resolved_port = port if port is not None else profile_default_port(paths.profile)
    generated = token is None
    config = minimal_config(resolved_port, token or secrets.token_urlsafe(32))
    errors, _ = validate(config)
    if errors:  # cannot happen with the values checked above; never write a config the gateway refuses
        return out.fail(f"the config would be invalid: {first_error_text(errors)}", ExitCode.CONFIG)
    target = Path(os.path.realpath(paths.config_path)) if paths.config_path.is_symlink() else paths.config_path
    try:
        if not paths.state_dir.exists():
            paths.state_dir.mkdir(parents=True, mode=0o700)
            os.chmod(paths.state_dir, 0o700)
        if exists:
            write_atomic(target.with_name(target.name + ".bak"), target.read_bytes(), mode=0o600)
        write_atomic(target, (json.dumps(config, indent=2) + "\n").encode(), mode=0o600)
    except OSError as exc:
        return out.fail(f"cannot write {target}: {exc.strerror or exc}")
    out.extra.update(written=True, replaced=exists, port=resolved_port, tokenGenerated=generated,
                     profile=paths.profile or "default")
    out.say(f"{'Replaced' if exists else 'Wrote'} {paths.config_path} (0600)" + (f"; the previous file is {target}.bak" if exists else ""))
    out.say("  gateway.mode:       local")
    out.say(f"  gateway.port:       {resolved_port}")
    out.say("  gateway.bind:       loopback")
    out.say("  gateway.auth.token: " + ("generated (43 characters)" if generated else "from --token")
            + f"; `{_cli(paths)} config get gateway.auth.token --reveal` shows it")
    return out.done(f"Next: `{_cli(paths)} gateway run` (foreground) or `{_cli(paths)} gateway install` (as a service).")


def onboard_mode_problem(mode: str | None) -> str | None:
    if mode in (None, "local"):
        return None
    if mode == "remote":
        return ("onboard --mode remote is not supported here: this CLI sets up a local gateway. To use a remote one, "
                "set gateway.remote.url (and token) with `openclaw config set`.")
    return f"--mode {mode}: use local (or remote)"
