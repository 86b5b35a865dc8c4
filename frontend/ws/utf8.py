"""UTF-8 validity of a client's text frame (RFC 6455 §8.1: invalid text closes 1007).

Checked only when a frame failed to decode: a frame msgspec decoded had valid UTF-8 in every
string it read, so the hot path pays nothing."""

from __future__ import annotations

import codecs

INVALID_UTF8_CLOSE = 1007
_decode = codecs.utf_8_decode


def valid_utf8(data: bytes) -> bool:
    try:
        _decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True
