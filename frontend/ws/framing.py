"""Server -> client WebSocket text frames written straight to the transport (RFC 6455 §5.2).

Server frames are never masked and we never compress, so a frame is a 2-10 byte
header plus the payload: one transport.write, no await, no task per send. This
keeps broadcasts and responses off the coroutine machinery on the hot path.
"""

from __future__ import annotations

import struct

_OP_TEXT = 0x81  # FIN + text
_LEN2 = struct.Struct("!BBH").pack
_LEN8 = struct.Struct("!BBQ").pack


def text_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((_OP_TEXT, n)) + payload
    if n < 65536:
        return _LEN2(_OP_TEXT, 126, n) + payload
    return _LEN8(_OP_TEXT, 127, n) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    body = struct.pack("!H", code) + reason.encode()[:123]
    return bytes((0x88, len(body))) + body
