"""Which browser origins may open a WebSocket (spec S3, RFC 6455 §10.2: cross-site WebSocket
hijacking). A request without `Origin` is not from a browser page and is not judged here.

Allowed: the gateway's own origins — http and https on 127.0.0.1, localhost and [::1] at the
port the connection came in on (never the Host header: DNS rebinding) — `gateway.publicOrigin`,
and `gateway.controlUi.allowedOrigins` (`"*"` allows every origin, and says so in the log).

The header must be a browser's serialization of an origin: `scheme://host[:port]`, lowercase,
scheme http or https, an ASCII host (IDN arrives as punycode) or a bracketed IPv6 literal, no
path, query, fragment or userinfo. Anything else (`null`, `http://LOCALHOST:1`,
`http://localhost:1/`, `http://user@localhost:1`) is refused, and so is every origin not on the
list (another port, http vs https, `localhost.evil.com`, `127.0.0.1.evil.com`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, NamedTuple

from openclaw.ipc.logs import get_logger

log = get_logger("gateway/ws")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_ORIGIN = re.compile(r"(https?)://(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::([1-9][0-9]{0,4}))?")


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


def parse_origin(value: str) -> Origin | None:
    """The origin a canonical `Origin` header names, or None when it is not one."""
    m = _ORIGIN.fullmatch(value)
    if m is None:
        return None
    scheme, host, port_text = m.groups()
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    elif ".." in host:
        return None
    port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    if port > 65535:
        return None
    return Origin(scheme, host, port)


def own_origins(port: int, public_origin: Any = None) -> set[Origin]:
    own = {Origin(scheme, host, port) for scheme in ("http", "https") for host in _LOOPBACK_HOSTS}
    if isinstance(public_origin, str):
        parsed = _parse_configured(public_origin)
        if parsed is not None:
            own.add(parsed)
    return own


def is_own_loopback_page(header: str | None, port: int) -> bool:
    """The page was served by this gateway over loopback (http(s)://127.0.0.1|localhost|[::1]:<port>)."""
    origin = parse_origin(header) if header else None
    return origin is not None and origin in own_origins(port)


def _parse_configured(value: str) -> Origin | None:
    """A configured origin; people write `https://App.example.com/`, so case and a final slash are forgiven."""
    text = value.strip().lower()
    return parse_origin(text[:-1] if text.endswith("/") else text)


class OriginPolicy:
    """Judges `Origin` headers against the settings as they are now (hot-reloadable)."""

    def __init__(self) -> None:
        self._warned_wildcard = False

    def allows(self, header: str | None, port: int, settings: Any) -> bool:
        if header is None:
            return True
        origin = parse_origin(header)
        if origin is None:
            return False
        if origin in own_origins(port, settings.value("gateway.publicOrigin")):
            return True
        allowed = settings.value("gateway.controlUi.allowedOrigins", []) or []
        if not isinstance(allowed, list):
            return False
        if "*" in allowed:
            if not self._warned_wildcard:
                self._warned_wildcard = True
                log.warn('gateway.controlUi.allowedOrigins contains "*": any web page may open a WebSocket to this gateway')
            return True
        return any(isinstance(a, str) and _parse_configured(a) == origin for a in allowed)
