"""The state dir is the owner's alone (0700) and the files holding secrets are 0600 and ours."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from openclaw.ipc.config import config_value

from .context import DoctorContext
from .model import FAIL, OK, WARN, Finding, RepairError

ENV_FILE_NAMES = (".env", "gateway.env", "service.env")


def check(ctx: DoctorContext) -> list[Finding]:
    out = [_state_dir(ctx)]
    has_secret = any(config_value(ctx.data, k) is not None for k in ("gateway.auth.token", "gateway.auth.password"))
    out.extend(_secret_file(ctx, "perms.config", "config", ctx.paths.config_path, holds_secret=has_secret))
    out.extend(_secret_file(ctx, "perms.token-file", "runtime token file", ctx.paths.runtime_token_file))
    for path in env_files(ctx):
        out.extend(_secret_file(ctx, f"perms.env-file:{path.name}", "environment file", path))
    return out


def env_files(ctx: DoctorContext) -> list[Path]:
    """Environment files that may hold secrets: in the state dir, and the installed service's EnvironmentFile."""
    found = [ctx.paths.state_dir / n for n in ENV_FILE_NAMES]
    with contextlib.suppress(OSError):
        found += sorted(ctx.paths.state_dir.glob("*.env"))
    try:
        from openclaw.cli.service.view import inspect_service

        definition = inspect_service(ctx.paths).definition or {}
        env_file = definition.get("envFile")
        if isinstance(env_file, str) and env_file:
            found.append(Path(env_file))
    except Exception as exc:  # noqa: BLE001 - the service view is optional for this check
        ctx.notes.append(f"service view unavailable: {exc}")
    out: list[Path] = []
    for p in found:
        if p.exists() and p not in out:
            out.append(p)
    return out


def _mode(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def _chmod(path: Path, mode: int) -> str:
    try:
        before = _mode(path.stat())
        os.chmod(path, mode)
    except OSError as exc:
        raise RepairError(f"cannot chmod {path}: {exc.strerror or exc}") from None
    return f"chmod {mode:o} {path} (was {before})"


def _state_dir(ctx: DoctorContext) -> Finding:
    d = ctx.paths.state_dir
    try:
        st = d.stat()
    except FileNotFoundError:
        return Finding("perms.state-dir", OK, f"state dir {d} does not exist yet (the gateway creates it 0700)")
    except OSError as exc:
        return Finding("perms.state-dir", FAIL, f"state dir {d} cannot be read: {exc.strerror or exc}")
    if st.st_uid != os.getuid():
        return Finding("perms.state-dir", FAIL, f"state dir {d} belongs to uid {st.st_uid}, not to you (uid {os.getuid()})",
                       "use a state dir of your own (OPENCLAW_STATE_DIR) or have it chowned to you")
    if stat.S_IMODE(st.st_mode) & 0o077:
        shared = _real(d) in (_real(ctx.paths.home), Path("/")) or st.st_mode & stat.S_ISVTX
        msg = f"state dir {d} is mode {_mode(st)}: other users can enter it and read what it holds"
        if shared:
            return Finding("perms.state-dir", FAIL, msg + " (a shared folder: not tightened)",
                           "use a private state dir (OPENCLAW_STATE_DIR)")
        return Finding("perms.state-dir", FAIL, msg, f"chmod 700 {d}", repair=lambda: _chmod(d, 0o700))
    return Finding("perms.state-dir", OK, f"state dir {d} is {_mode(st)} and yours")


def _secret_file(ctx: DoctorContext, check_id: str, what: str, path: Path, holds_secret: bool = True) -> list[Finding]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [Finding(check_id, FAIL, f"{what} {path} cannot be read: {exc.strerror or exc}")]
    if st.st_uid != os.getuid():
        return [Finding(check_id, FAIL, f"{what} {path} belongs to uid {st.st_uid}, not to you",
                        "have it chowned to you, or replace it with your own copy (mode 600)")]
    if stat.S_IMODE(st.st_mode) & 0o077:
        status, why = (FAIL, "other users can read the secret in it") if holds_secret else (WARN, "other users can read it")
        return [Finding(check_id, status, f"{what} {path} is mode {_mode(st)}: {why}", f"chmod 600 {path}",
                        repair=lambda: _chmod(path, 0o600))]
    return [Finding(check_id, OK, f"{what} {path} is {_mode(st)} and yours")]


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path
