"""The one place secrets are compared: constant time over fixed-length digests."""

from __future__ import annotations

import hashlib
import hmac


def secret_equals(provided: str | None, expected: str | None) -> bool:
    if provided is None or expected is None:
        return False
    a = hashlib.sha256(provided.encode()).digest()
    b = hashlib.sha256(expected.encode()).digest()
    return hmac.compare_digest(a, b)
