"""Reinstall this profile's service through the service tooling (`gateway install --force`).

The doctor does not write unit files itself: `openclaw.cli.service.install` owns them. A reinstall
resolves the port from the config again and keeps the secrets an earlier install stored.
"""

from __future__ import annotations

from openclaw.ipc.paths import Paths

from .model import RepairError


def reinstall_service(paths: Paths, platform: str | None = None, system: bool = False) -> str:
    """Rewrite the installed service definition; returns what changed, or raises RepairError."""
    from openclaw.cli.service.install import install

    try:
        result = install(paths, platform, system, port=None, token=None, runtime="python", runtime_path=None,
                         wrapper=None, force=True, allow_unconfigured=False)
    except Exception as exc:  # noqa: BLE001 - whatever the tooling raises is reported, never a traceback
        raise RepairError(f"cannot repair: reinstalling the service failed: {exc}") from None
    if not result.ok:
        raise RepairError(f"cannot repair: `gateway install --force` failed: {result.error}")
    return "reinstalled the service (install --force)" + (f": {result.message}" if result.message else "")
