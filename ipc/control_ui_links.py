"""Where the Control UI of a gateway is: its base path (`gateway.controlUi.basePath`) and URLs.

The front-end serves the UI at `<basePath>/` (frontend/http/control_ui.py) and the CLI prints and
probes the same address (`openclaw dashboard`, `gateway status`), so both read the path here.
A base path is "" (the root) or "/seg[/seg…]": leading slash added, trailing slashes dropped;
anything that is not a plain path (`..`, `//`, `?`, `#`, `%`, backslashes, controls) is refused.
"""

from __future__ import annotations

import re
from typing import Any

from .config import config_value

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
