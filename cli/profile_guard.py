"""Refuse a command line whose profile and environment name different gateways (exit 2).

`openclaw --profile rescue ...` with OPENCLAW_STATE_DIR / OPENCLAW_CONFIG_PATH pointing at another
profile's files is never silently resolved one way or the other (ipc/paths.py check_profile_conflict).
The gateway itself (`gateway run`) refuses the same conflict with exit 78 in its bootstrap.
"""

from __future__ import annotations

import os

from openclaw.ipc.errors import ExitCode
from openclaw.ipc.paths import ProfileConflict, resolve_paths

from .globals import OPTIONS
from .output import fail


def profile_source() -> str | None:
    """Where the effective profile came from, as the user typed it."""
    if OPTIONS.profile:
        return f"--profile {OPTIONS.profile}"
    if OPTIONS.dev:
        return "--dev"
    env_profile = os.environ.get("OPENCLAW_PROFILE")
    return f"OPENCLAW_PROFILE={env_profile}" if env_profile else None


def check_profile_or_exit() -> None:
    try:
        resolve_paths(OPTIONS.effective_profile, source=profile_source())
    except ProfileConflict as exc:
        fail(f"openclaw: {exc}", ExitCode.USAGE)
