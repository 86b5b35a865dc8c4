"""Reinstall this profile's service through the service tooling (`gateway install --force`).

The doctor does not write unit files itself: the service tooling owns them. It is imported
lazily, by the names below, so the doctor works (and says so) where that tooling is absent.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from openclaw.ipc.paths import Paths

from .model import RepairError

# (module, function): the first that exists is called as fn(paths, force=True)
INSTALLERS = (
    ("openclaw.cli.service.install", "install_service"),
    ("openclaw.cli.service", "install_service"),
    ("openclaw.cli.service.install", "install"),
)


def find_installer() -> Any | None:
    for module_name, fn_name in INSTALLERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        fn = getattr(module, fn_name, None)
        if callable(fn):
            return fn
    return None


def reinstall_service(paths: Paths, platform: str | None = None) -> str:
    """Rewrite the installed service definition; returns what changed, or raises RepairError."""
    fn = find_installer()
    if fn is None:
        raise RepairError("cannot repair: service tooling missing")
    kwargs: dict[str, Any] = {"force": True}
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    if platform is not None and "platform" in params:
        kwargs["platform"] = platform
    try:
        result = fn(paths, **kwargs)
    except RepairError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the tooling raises is reported, never a traceback
        raise RepairError(f"cannot repair: reinstalling the service failed: {exc}") from None
    detail = getattr(result, "message", None) or (result if isinstance(result, str) else None)
    return f"reinstalled the service (install --force){': ' + detail if detail else ''}"
