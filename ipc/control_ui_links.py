"""Where the Control UI of a gateway is: its base path (`gateway.controlUi.basePath`) and URLs.

The front-end serves the UI at `<basePath>/` (frontend/http/control_ui.py) and the CLI prints and
probes the same address (`openclaw dashboard`, `gateway status`), so both read the path here.
A base path is "" (the root) or "/seg[/seg…]": leading slash added, trailing slashes dropped;
anything that is not a plain path (`..`, `//`, `?`, `#`, `%`, backslashes, controls) is refused.
"""

from __future__ import annotations

import re
from typing import Any

from .channels_config import inbound_paths
from .config_lookup import config_value



_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")


def normalize_base_path(value: Any) -> str | None:
    """The canonical base path, or None when `value` is not a usable one."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return None
    text = value.strip().strip("/")
    if not text:
        return ""
    segments = text.split("/")
    if any(s in ("", ".", "..") or not _SEGMENT.fullmatch(s) for s in segments):
        return None
    return "/" + "/".join(segments)


# Paths that are never the UI's (their own handlers, or JSON 404s): the API, probes, hooks, channels.
RESERVED_PREFIXES = ("/v1/", "/tools/", "/api/", "/__openclaw__/", "/channels/")
RESERVED_EXACT = frozenset({"/v1", "/tools", "/api", "/__openclaw__"})
PROBE_PATHS = frozenset({"/health", "/healthz", "/ready", "/readyz", "/startup", "/startupz"})


def configured_hooks_path(config: dict[str, Any]) -> str:
    """`hooks.path` as configured (default /hooks), whether hooks are on or not."""
    value = config_value(config, "hooks.path")
    return value.rstrip("/") if isinstance(value, str) and value.startswith("/") and value.rstrip("/") else "/hooks"


def reserved_path(path: str, config: dict[str, Any]) -> bool:
    """An API/probe/hook/channel path: never the Control UI, not even its SPA fallback."""
    if path in RESERVED_EXACT or path.startswith(RESERVED_PREFIXES):
        return True
    if any(path == probe or path.startswith(probe + "/") for probe in PROBE_PATHS):
        return True
    hooks = configured_hooks_path(config)
    return path == hooks or path.startswith(hooks + "/") or path in inbound_paths(config)


def shadowed_base_path(config: dict[str, Any]) -> str | None:
    """The base path when an API/probe/hook/channel path takes it (the UI is then served nowhere)."""
    base = base_path(config)
    return base if base and reserved_path(base + "/", config) else None


def base_path(config: dict[str, Any]) -> str:
    """The configured base path ("" when unset or unusable: validation reports the latter)."""
    return normalize_base_path(config_value(config, "gateway.controlUi.basePath")) or ""


def ui_enabled(config: dict[str, Any]) -> bool:
    return config_value(config, "gateway.controlUi.enabled", True) is not False


def links(port: int, tls: bool, config: dict[str, Any], host: str = "127.0.0.1") -> dict[str, str]:
    """{httpUrl, wsUrl} of the UI on `host` (the loopback address by default)."""
    shown = f"[{host}]" if ":" in host else host
    http, ws = ("https", "wss") if tls else ("http", "ws")
    path = base_path(config)
    return {"httpUrl": f"{http}://{shown}:{port}{path}/", "wsUrl": f"{ws}://{shown}:{port}{path}"}
