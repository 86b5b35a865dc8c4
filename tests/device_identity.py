"""A device identity for tests: an Ed25519 key that signs connect frames as real clients do
(spec §2.5: payload v3, or v2 as openclaw-node)."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _norm(value: str | None) -> str:
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in (value or "").strip())


class DeviceIdentity:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.device_id = hashlib.sha256(self.raw).hexdigest()
        self.public_key = b64url(self.raw)

    def payload(self, params: dict[str, Any], nonce: str, signed_at: int, version: str = "v3") -> str:
        auth = params.get("auth") or {}
        token = auth.get("token") or auth.get("deviceToken") or auth.get("bootstrapToken") or ""
        c = params["client"]
        fields = [version, self.device_id, c["id"], c["mode"], params.get("role", "operator"),
                  ",".join(params.get("scopes") or []), str(signed_at), token, nonce]
        if version == "v3":
            fields += [_norm(c.get("platform")), _norm(c.get("deviceFamily"))]
        return "|".join(fields)

    def sign(self, params: dict[str, Any], nonce: str, *, version: str = "v3", signed_at: int | None = None,
             payload_override: str | None = None) -> dict[str, Any]:
        """Return params with a `device` proof added (signed over the params as they are now)."""
        signed_at = int(time.time() * 1000) if signed_at is None else signed_at
        text = payload_override if payload_override is not None else self.payload(params, nonce, signed_at, version)
        signature = b64url(self.key.sign(text.encode()))
        return {**params, "device": {"id": self.device_id, "publicKey": self.public_key, "signature": signature,
                                     "signedAt": signed_at, "nonce": nonce}}
