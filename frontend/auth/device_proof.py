"""Verify a connect frame's device identity (spec §2.5): an Ed25519 key whose SHA-256 is the device
id, signing the challenge nonce, the claimed client and the credential within ±120 s.

Signed string (fields joined with "|"), tried v3 first, then v2:
    v3|deviceId|client.id|client.mode|role|scopes,joined|signedAt|token|nonce|platform|deviceFamily
    v2|deviceId|client.id|client.mode|role|scopes,joined|signedAt|token|nonce
token = auth.token, else auth.deviceToken, else auth.bootstrapToken, else "".
platform/deviceFamily: trimmed, ASCII A-Z lower-cased only (not Unicode lower-casing).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from openclaw.ipc import frames
from openclaw.ipc.errors import ErrorCode, GatewayError

MAX_SKEW_MS = 120_000
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class DeviceProofError(GatewayError):
    def __init__(self, code: str, message: str) -> None:
        reason = "device-" + code.removeprefix("DEVICE_AUTH_").lower().replace("_", "-")
        super().__init__(ErrorCode.INVALID_REQUEST, message, details={"code": code, "reason": reason})


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public_key(text: str) -> bytes:
    """base64url raw 32 bytes (what clients send) or a PEM SubjectPublicKeyInfo."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not Ed25519")
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        raw = b64url_decode(text.strip())
    except (ValueError, TypeError, binascii.Error):
        raise DeviceProofError("DEVICE_AUTH_PUBLIC_KEY_INVALID", "device public key invalid") from None
    if len(raw) != 32:
        raise DeviceProofError("DEVICE_AUTH_PUBLIC_KEY_INVALID", "device public key invalid")
    return raw


def device_id_for(raw_key: bytes) -> str:
    return hashlib.sha256(raw_key).hexdigest()


def _norm(value: str | None) -> str:
    return value.strip().translate(_ASCII_LOWER) if isinstance(value, str) else ""


def signed_payloads(params: frames.ConnectParams, device_id: str, role: str, signed_at: int, nonce: str) -> tuple[str, str]:
    auth = params.auth or frames.ConnectAuth()
    token = auth.token if auth.token is not None else auth.deviceToken if auth.deviceToken is not None else auth.bootstrapToken
    c = params.client
    common = [device_id, c.id, c.mode, role, ",".join(params.scopes or []), str(signed_at), token or "", nonce]
    v3 = "|".join(["v3", *common, _norm(c.platform), _norm(c.deviceFamily)])
    v2 = "|".join(["v2", *common])
    return v3, v2


def verify(params: frames.ConnectParams, role: str, challenge_nonce: str, now_ms: int) -> tuple[str, bytes]:
    """Return (deviceId, raw public key) when the proof holds; raise DeviceProofError otherwise."""
    device = params.device
    assert device is not None
    raw = raw_public_key(device.publicKey)
    device_id = device_id_for(raw)
    if device.id.lower() != device_id:
        raise DeviceProofError("DEVICE_AUTH_DEVICE_ID_MISMATCH", "device identity mismatch")
    if not device.nonce:
        raise DeviceProofError("DEVICE_AUTH_NONCE_REQUIRED", "device nonce required")
    if device.nonce != challenge_nonce:
        raise DeviceProofError("DEVICE_AUTH_NONCE_MISMATCH", "device nonce mismatch")
    if abs(now_ms - device.signedAt) > MAX_SKEW_MS:
        raise DeviceProofError("DEVICE_AUTH_SIGNATURE_EXPIRED", "device signature expired")
    try:
        signature = b64url_decode(device.signature.strip())
    except (ValueError, TypeError, binascii.Error):
        signature = b""
    key = Ed25519PublicKey.from_public_bytes(raw)
    for payload in signed_payloads(params, device.id, role, device.signedAt, device.nonce):
        try:
            key.verify(signature, payload.encode())
            return device_id, raw
        except InvalidSignature:
            continue
    raise DeviceProofError("DEVICE_AUTH_SIGNATURE_INVALID", "device signature invalid")
