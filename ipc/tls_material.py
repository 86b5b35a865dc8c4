"""The gateway's TLS certificate and key: where they are, whether they load, and their fingerprint.

`gateway.tls.{enabled, autoGenerate, certPath, keyPath, caPath}` as upstream reads it: the default
files are `<stateDir>/gateway/tls/gateway-cert.pem` and `gateway-key.pem`; `autoGenerate`
(default true) makes a self-signed pair there when *both* are missing (tls_selfsigned.py).
`resolve_tls` writes nothing (the supervisor generates at start, `ensure_tls_material`);
`certificate_fingerprint` is the SHA-256 of the DER certificate in upstream's normalized form
(64 lowercase hex digits), what clients pin (`gateway.remote.tlsFingerprint`, `--tls-fingerprint`)
and what discovery publishes as `gatewayTlsSha256`.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import stat
from pathlib import Path
from typing import Any

import msgspec

from .errors import ConfigRefusal

MAX_PEM_BYTES = 64 * 1024  # upstream's bound on a leaf file
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_COLON = re.compile(r"^(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$")
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.+?)\s+-----END CERTIFICATE-----", re.DOTALL)


class EncryptedKey(ssl.SSLError):
    """The key file asks for a pass phrase: the gateway runs unattended and never prompts for one."""


def _no_pass_phrase() -> bytes:
    # Without a callback OpenSSL prompts on /dev/tty ("Enter PEM pass phrase:") and blocks the
    # gateway (or fails obscurely without a terminal): refuse an encrypted key instead.
    raise EncryptedKey("the key is encrypted")


class TlsSettings(msgspec.Struct, kw_only=True):
    """Resolved `gateway.tls`; `fingerprint` is None only while a self-signed pair is still to be made."""

    cert_path: str
    key_path: str
    ca_path: str | None = None
    auto_generate: bool = True
    fingerprint: str | None = None

    @property
    def pending_generation(self) -> bool:
        return self.fingerprint is None


def default_tls_dir(state_dir: Path | str) -> Path:
    return Path(state_dir) / "gateway" / "tls"


def normalize_fingerprint(text: str | None) -> str | None:
    """`sha256:AB:CD:…`, `AB:CD:…` or 64 hex digits → 64 lowercase hex digits; None if not a SHA-256."""
    if not isinstance(text, str):
        return None
    value = re.sub(r"^sha256:", "", text.strip(), flags=re.IGNORECASE)
    if _HEX64.match(value):
        return value.lower()
    if _COLON.match(value):
        return value.replace(":", "").lower()
    return None


def colon_fingerprint(fp: str) -> str:
    """The form `openssl x509 -fingerprint -sha256` prints: AB:CD:…"""
    return ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)).upper()


def der_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def certificate_fingerprint(pem: bytes) -> str:
    """SHA-256 of the first (leaf) certificate of a PEM file. ValueError if there is none."""
    m = _PEM_CERT.search(pem)
    if not m:
        raise ValueError("no PEM certificate found")
    return der_fingerprint(ssl.PEM_cert_to_DER_cert(m.group(0).decode("ascii")))


def _read_pem(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise ConfigRefusal(f"gateway.tls: cannot read the {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PEM_BYTES:
        raise ConfigRefusal(f"gateway.tls: the {what} {path} is over {MAX_PEM_BYTES // 1024} KiB; expected one PEM {what}.")
    return data


def _user_path(value: Any, where: str, default: Path, state_dir: Path) -> Path:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if not isinstance(value, str):
        raise ConfigRefusal(f"{where} must be a path string.")
    p = Path(value.strip()).expanduser()
    return p if p.is_absolute() else state_dir / p


def load_pair(cert_path: Path, key_path: Path, ca_path: Path | None = None) -> str:
    """Check that the pair loads (and matches) as the front-end will load it; its fingerprint."""
    pem = _read_pem(cert_path, "certificate")
    _read_pem(key_path, "key")
    try:
        fp = certificate_fingerprint(pem)
    except ValueError:
        raise ConfigRefusal(f"gateway.tls: {cert_path} holds no PEM certificate.") from None
    try:
        server_context(str(cert_path), str(key_path), str(ca_path) if ca_path else None)
    except EncryptedKey:
        raise ConfigRefusal(
            f"gateway.tls: the key {key_path} is encrypted (it asks for a pass phrase) and the gateway never prompts; "
            f"decrypt it (openssl pkey -in {key_path} -out <new file>, mode 0600) and point gateway.tls.keyPath at that"
        ) from None
    except ssl.SSLError as exc:
        raise ConfigRefusal(
            f"gateway.tls: cannot use {cert_path} with {key_path}: {exc.reason or exc} "
            "(is the key the certificate's, unencrypted PEM?)"
        ) from None
    except OSError as exc:
        raise ConfigRefusal(f"gateway.tls: cannot read {ca_path}: {exc.strerror or exc}") from None
    return fp


def resolve_tls(data: dict[str, Any], state_dir: Path | str) -> TlsSettings | None:
    """The resolved `gateway.tls`, or None when TLS is off. Writes nothing; refusals are exit 78."""
    tls = (data.get("gateway") or {}).get("tls") if isinstance(data.get("gateway"), dict) else None
    if not isinstance(tls, dict) or tls.get("enabled") is not True:
        return None
    state_dir = Path(state_dir)
    base = default_tls_dir(state_dir)
    cert = _user_path(tls.get("certPath"), "gateway.tls.certPath", base / "gateway-cert.pem", state_dir)
    key = _user_path(tls.get("keyPath"), "gateway.tls.keyPath", base / "gateway-key.pem", state_dir)
    ca = _user_path(tls.get("caPath"), "gateway.tls.caPath", Path(), state_dir) if tls.get("caPath") else None
    auto = tls.get("autoGenerate") is not False
    settings = TlsSettings(cert_path=str(cert), key_path=str(key), ca_path=str(ca) if ca else None, auto_generate=auto)
    have_cert, have_key = cert.exists(), key.exists()
    if not have_cert and not have_key and auto:
        return settings  # the supervisor makes a self-signed pair (ensure_tls_material)
    if not have_cert or not have_key:
        missing = " and ".join(str(p) for p, ok in ((cert, have_cert), (key, have_key)) if not ok)
        hint = ("autoGenerate only makes a pair when both files are missing: remove the other one or supply it"
                if auto else "set gateway.tls.autoGenerate true to make a self-signed pair, or set certPath/keyPath")
        raise ConfigRefusal(f"gateway.tls is enabled but {missing} does not exist ({hint}).")
    settings.fingerprint = load_pair(cert, key, ca)
    return settings


def loose_key_warning(key_path: str) -> list[str]:
    """A key other users may read (group/other bits): named, with the fix; the gateway still starts."""
    try:
        mode = stat.S_IMODE(os.stat(key_path).st_mode)
    except OSError:
        return []
    if not mode & 0o077:
        return []
    return [(f"Warning: gateway.tls key {key_path} is mode {mode:04o}: other users can read the private key "
             f"(chmod 600 {key_path}).")]


def ensure_tls_material(settings: TlsSettings | None) -> list[str]:
    """Generate the self-signed pair a resolved setting is waiting for; notices for the operator."""
    if settings is None:
        return []
    if not settings.pending_generation:
        return loose_key_warning(settings.key_path)
    from .tls_selfsigned import generate_self_signed

    generate_self_signed(Path(settings.cert_path), Path(settings.key_path))
    settings.fingerprint = load_pair(Path(settings.cert_path), Path(settings.key_path),
                                     Path(settings.ca_path) if settings.ca_path else None)
    return [f"gateway tls: generated a self-signed certificate at {settings.cert_path} "
            f"(SHA-256 {colon_fingerprint(settings.fingerprint)})"]


def server_context(cert_path: str, key_path: str, ca_path: str | None = None) -> ssl.SSLContext:
    """The front-end's context: TLS 1.2+ (upstream allows 1.3 only; 1.2 keeps older proxies working)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path, password=_no_pass_phrase)
    if ca_path:
        ctx.load_verify_locations(ca_path)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def gateway_tls_fingerprint(data: dict[str, Any], state_dir: Path | str) -> str | None:
    """For discovery (TXT `gatewayTlsSha256`) and `gateway status`: the fingerprint of the certificate
    the gateway serves, or None when TLS is off or the file cannot be read. Never raises."""
    tls = (data.get("gateway") or {}).get("tls") if isinstance(data.get("gateway"), dict) else None
    if not isinstance(tls, dict) or tls.get("enabled") is not True:
        return None
    try:
        base = default_tls_dir(state_dir)
        cert = _user_path(tls.get("certPath"), "gateway.tls.certPath", base / "gateway-cert.pem", Path(state_dir))
        return certificate_fingerprint(_read_pem(cert, "certificate"))
    except (ConfigRefusal, ValueError):
        return None
