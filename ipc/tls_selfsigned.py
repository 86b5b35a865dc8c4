"""A self-signed certificate for `gateway.tls.autoGenerate` (pyca/cryptography, no openssl binary).

Upstream runs `openssl req -x509 -newkey rsa:2048 -days 3650 -subj /CN=openclaw-gateway`; this makes
the same kind of certificate with an ECDSA P-256 key (generated in ~1 ms instead of ~100 ms for
RSA) and subjectAltNames for localhost, 127.0.0.1, ::1 and this host's name, so a client that trusts
the file as a CA (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE) verifies it on loopback as well as one that
pins its fingerprint. Key and certificate are written atomically, 0600, in a 0700 folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .atomic import write_atomic
from .errors import ConfigRefusal

VALID_DAYS = 3650
PARTNER_WAIT_S = 5.0  # how long a process that lost the race waits for the winner's certificate
COMMON_NAME = "openclaw-gateway"


def _names() -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    host = socket.gethostname()
    if host and host != "localhost":
        try:
            names.append(x509.DNSName(host))
        except ValueError:
            pass
    names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    return names


def self_signed_pem() -> tuple[bytes, bytes]:
    """(certificate PEM, unencrypted PKCS#8 key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names()), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _publish_new(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless a file is there already (no clobber: a second gateway starting at
    the same moment keeps the first one's pair). True when ours was published."""
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    write_atomic(tmp, data, mode=0o600)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def generate_self_signed(cert_path: Path, key_path: Path) -> None:
    """Write a new pair; the key first, so a certificate on disk always has its key. ConfigRefusal
    (exit 78 at start, a refused reload later) when the folder cannot be written."""
    cert_pem, key_pem = self_signed_pem()
    try:
        for p in {cert_path.parent, key_path.parent}:
            p.mkdir(parents=True, exist_ok=True, mode=0o700)
        if _publish_new(key_path, key_pem):
            if not _publish_new(cert_path, cert_pem):
                key_path.unlink(missing_ok=True)  # a certificate appeared without its key: not ours to pair
        else:
            _await_partner_certificate(cert_path, key_path)
    except OSError as exc:
        raise ConfigRefusal(f"gateway.tls.autoGenerate: cannot write the self-signed certificate: {exc}") from None


def _await_partner_certificate(cert_path: Path, key_path: Path) -> None:
    """Another process published its key first; it publishes the certificate a moment later."""
    deadline = time.monotonic() + PARTNER_WAIT_S
    while not cert_path.exists():
        if time.monotonic() >= deadline:
            raise ConfigRefusal(
                f"gateway.tls.autoGenerate: {key_path} appeared without {cert_path} (another process was "
                f"generating the pair and did not finish within {PARTNER_WAIT_S:g} s); remove both files and start again"
            )
        time.sleep(0.01)
