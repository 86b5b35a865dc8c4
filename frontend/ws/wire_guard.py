"""A byte-level check of client WebSocket frame headers, in front of aiohttp's reader.

aiohttp's compiled reader has one message size limit, fixed when it is made (the post-auth
25 MiB), and it buffers a whole message before anyone sees it. The guard reads only frame
headers, as the bytes arrive, and refuses a connection before aiohttp buffers anything:

* a data message (one frame, or the sum of a fragmented message's frames) over the limit:
  1009 (65,536 bytes until hello-ok, then MAX_PAYLOAD);
* RFC 6455 §5 violations visible in a header: an unmasked client frame, reserved bits (we
  negotiate no extension), an unknown opcode, a fragmented or over-125-byte control frame, a
  continuation with no message started, a new message inside a fragmented one: 1002.

`check` is pure (bytes in, verdict out); guarded_ws.py wires it to a connection.
"""

from __future__ import annotations

_OP_CONT, _OP_TEXT, _OP_BINARY = 0x0, 0x1, 0x2
_OP_CLOSE, _OP_PONG = 0x8, 0xA
_MAX_CONTROL = 125


class Refusal(Exception):
    """Why the guard refuses a connection: the close code and reason to send."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class FrameHeaderGuard:
    __slots__ = ("limit", "_remaining", "_partial", "_fragmented", "_message_bytes")

    def __init__(self, limit: int) -> None:
        self.limit = limit  # largest data message accepted, in bytes
        self._remaining = 0  # payload bytes of the current frame still to come
        self._partial = b""  # the start of a header split across reads
        self._fragmented = False  # inside a message whose last frame has not come
        self._message_bytes = 0  # that message's payload so far

    def check(self, data: bytes) -> None:
        """Account for `data`, the next bytes from the client; raise Refusal on the first violation."""
        n = len(data)
        remaining = self._remaining
        if remaining >= n:  # the common case for big frames: all payload, no header
            self._remaining = remaining - n
            return
        pos = remaining
        if self._partial:
            data = self._partial + data[pos:]
            n, pos, self._partial = len(data), 0, b""
        while pos < n:
            if n - pos < 2:
                self._partial = data[pos:]
                self._remaining = 0
                return
            b0, b1 = data[pos], data[pos + 1]
            if not b1 & 0x80:
                raise Refusal(1002, "client frames must be masked")
            size = b1 & 0x7F
            header = 6 + (2 if size == 126 else 8 if size == 127 else 0)  # 2 + length + 4 (mask key)
            if n - pos < header:
                self._partial = data[pos:]
                self._remaining = 0
                return
            if size == 126:
                size = int.from_bytes(data[pos + 2 : pos + 4], "big")
            elif size == 127:
                size = int.from_bytes(data[pos + 2 : pos + 10], "big")
            if b0 == 0x81 and not self._fragmented:  # a whole text message: the common case, inline
                if size > self.limit:
                    raise Refusal(1009, f"message over {self.limit} bytes")
            else:
                self._judge(b0, size)
            pos += header + size
        self._remaining = pos - n

    def _judge(self, b0: int, size: int) -> None:
        if b0 & 0x70:
            raise Refusal(1002, "reserved bits set (no extension was negotiated)")
        opcode = b0 & 0x0F
        final = b0 & 0x80
        if opcode >= _OP_CLOSE:
            if opcode > _OP_PONG:
                raise Refusal(1002, f"unknown opcode {opcode:#x}")
            if not final:
                raise Refusal(1002, "fragmented control frame")
            if size > _MAX_CONTROL:
                raise Refusal(1002, "control frame over 125 bytes")
            return
        if opcode == _OP_CONT:
            if not self._fragmented:
                raise Refusal(1002, "continuation frame with no message started")
            total = self._message_bytes + size
        elif opcode in (_OP_TEXT, _OP_BINARY):
            if self._fragmented:
                raise Refusal(1002, "new message before the fragmented one ended")
            total = size
        else:
            raise Refusal(1002, f"unknown opcode {opcode:#x}")
        if total > self.limit:
            raise Refusal(1009, f"message over {self.limit} bytes")
        self._fragmented = not final
        self._message_bytes = 0 if final else total
