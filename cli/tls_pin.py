"""How the CLI trusts a wss:// gateway: a pinned SHA-256 certificate fingerprint, as upstream's client.

Which pin (upstream `resolveGatewayConnectionTlsFingerprint`): `--tls-fingerprint` > with
`gateway.mode: remote` and the URL from OPENCLAW_GATEWAY_URL, `gateway.remote.tlsFingerprint` > for
this machine's own gateway (no `--url`, or a `--url` naming its loopback port) with `gateway.tls`
on, the fingerprint of the certificate file it serves. No pin: the system's CA store verifies the
certificate and the host name (SSL_CERT_FILE works). A pin replaces CA and host-name checks and is
compared after the TLS handshake, before the WebSocket upgrade is sent.
"""

from __future__ import annotations

import hashlib
import ssl
from typing import Any
from urllib.parse import urlsplit

from openclaw.ipc.config import config_value
from openclaw.ipc.paths import Paths
from openclaw.ipc.tls_material import colon_fingerprint, gateway_tls_fingerprint, normalize_fingerprint

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class TlsPinMismatch(ssl.SSLError):
    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"gateway tls fingerprint mismatch: expected {colon_fingerprint(expected)}, "
                         f"the gateway presented {colon_fingerprint(got)}")
        self.expected = expected
        self.got = got


class PinnedContext(ssl.SSLContext):
    """A client context that accepts exactly one certificate, by its SHA-256."""

    pin: str = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        tls = super().wrap_socket(sock, *args, **kwargs)
        der = tls.getpeercert(binary_form=True) or b""
        got = hashlib.sha256(der).hexdigest()
        if got != self.pin:
            tls.close()
            raise TlsPinMismatch(self.pin, got)
        return tls


def pinned_context(fingerprint: str) -> PinnedContext:
    ctx = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the pin is the trust decision
    ctx.pin = fingerprint
    return ctx


def is_wss(url: str) -> bool:
    return url.lower().startswith(("wss://", "https://"))


def local_tls_fingerprint(paths: Paths, config: dict[str, Any]) -> str | None:
    return gateway_tls_fingerprint(config, paths.state_dir)


def pin_for(url: str, url_source: str, paths: Paths, config: dict[str, Any], explicit: str | None,
            local_port: int | None) -> str | None:
    """The fingerprint to pin for `url`, or None (CA verification). ValueError for a malformed one."""
    if explicit:
        fp = normalize_fingerprint(explicit)
        if fp is None:
            raise ValueError("Invalid TLS fingerprint; expected a SHA-256 certificate fingerprint "
                             "(64 hex digits, or AB:CD:… as `openssl x509 -fingerprint -sha256` prints it).")
        return fp
    if not is_wss(url):
        return None
    remote = config_value(config, "gateway.remote.tlsFingerprint")
    if config_value(config, "gateway.mode") == "remote" and url_source == "env OPENCLAW_GATEWAY_URL" and remote:
        fp = normalize_fingerprint(str(remote))
        if fp is None:
            raise ValueError("gateway.remote.tlsFingerprint is not a SHA-256 certificate fingerprint.")
        return fp
    if url_source in ("cli --url", "env OPENCLAW_GATEWAY_URL"):
        parts = urlsplit(url)
        if (parts.hostname or "") not in LOOPBACK_HOSTS or local_port is None or parts.port != local_port:
            return None
    return local_tls_fingerprint(paths, config)
