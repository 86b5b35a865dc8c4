"""DNS-rebinding guard of the canvas host: when it listens on loopback only, a request must name a
loopback host (`localhost`, `127.x.y.z`, `[::1]`, any port) or one of `canvasHost.allowedHosts`
(e.g. the name a reverse proxy forwards). A web page on evil.example whose name is re-pointed at
127.0.0.1 sends `Host: evil.example` and is refused (421), so it cannot read canvas files.
A canvas host bound to a non-loopback address is reachable by name anyway: no check there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any


def host_name(header: str | None) -> str | None:
    """The host part of a Host header, lower-cased, brackets and port removed (None: malformed)."""
    if not header:
        return None
    text = header.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (text[end + 1:] and not text[end + 1:].startswith(":")):
            return None
        return text[1:end]
    name, _, port = text.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def is_loopback_name(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def loopback_only(bound_hosts: Iterable[str]) -> bool:
    hosts = list(bound_hosts)
    return bool(hosts) and all(is_loopback_name(h) for h in hosts)


def allowed_hosts(section: dict[str, Any]) -> frozenset[str]:
    raw = section.get("allowedHosts")
    if not isinstance(raw, list):
        return frozenset()
    return frozenset(h for h in (host_name(x) for x in raw if isinstance(x, str)) if h)


def admits(header: str | None, extra: frozenset[str]) -> bool:
    name = host_name(header)
    return name is not None and (is_loopback_name(name) or name in extra)
