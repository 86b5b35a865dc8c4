"""A blocking raw-socket WebSocket client for tests that send what a library would not: any frame
bytes, any upgrade request. It reports exactly how the server answered (HTTP status, close
code, or the connection dropped without one)."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import uuid
from typing import Any

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING = 0x0, 0x1, 0x2, 0x8, 0x9
DROPPED = "dropped"  # the connection ended without a close frame
STILL_OPEN = "open"


def frame(payload: bytes, opcode: int = OP_TEXT, *, fin: bool = True, mask: bool = True, rsv: int = 0,
          length: int | None = None) -> bytes:
    """A client frame; `length` declares a length other than the payload's (payload sent later or never)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | opcode
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    return head + (b"\0\0\0\0" if mask else b"") + payload  # a zero key leaves the payload as is


def connect_frame(token: str | None, req_id: str = "c1", **extra: Any) -> bytes:
    params: dict[str, Any] = {
        "minProtocol": 4, "maxProtocol": 4, "role": "operator", "scopes": ["operator.admin"],
        "client": {"id": "cli", "version": "test", "platform": "linux", "mode": "cli", "instanceId": str(uuid.uuid4())},
    }
    if token is not None:
        params["auth"] = {"token": token}
    params.update(extra)
    return frame(json.dumps({"type": "req", "id": req_id, "method": "connect", "params": params}).encode())


class HttpAnswer(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def read_http_answer(sock: socket.socket, buf: bytes = b"", timeout: float = 10.0,
                     body_timeout: float | None = None) -> tuple[int, dict[str, str], bytes, bytes]:
    """(status, headers, body, bytes after it) of one HTTP response read from `sock`; with
    `body_timeout`, a body still incomplete then is returned as far as it came (a HEAD answer)."""
    sock.settimeout(timeout)
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError(f"connection closed before an HTTP answer; got {buf[:200]!r}")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    n = int(headers.get("content-length", "0") or 0)
    if body_timeout is not None:
        sock.settimeout(body_timeout)
    while len(rest) < n:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            if body_timeout is None:
                raise
            break
        if not data:
            break
        rest += data
    return status, headers, rest[:n], rest[n:]


class RawWS:
    def __init__(self, port: int, headers: dict[str, str] | None = None, method: str = "GET", path: str = "/",
                 host: str = "127.0.0.1", rcvbuf: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((host, port))
        hdrs = {"Host": f"127.0.0.1:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), "Sec-WebSocket-Version": "13"}
        hdrs.update(headers or {})
        self.sock.sendall((f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n").encode())
        try:
            status, got, body, self.buf = read_http_answer(self.sock)
        except BaseException:
            self.sock.close()
            raise
        if status != 101:
            self.sock.close()
            raise HttpAnswer(status, got, body)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, timeout: float) -> None:
        self.sock.settimeout(max(timeout, 0.001))
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("server closed the TCP connection")
        self.buf += data

    def recv_frame(self, timeout: float = 10.0) -> tuple[int, bytes]:
        deadline = time.monotonic() + timeout

        def need(n: int) -> None:
            while len(self.buf) < n:
                self._fill(deadline - time.monotonic())

        need(2)
        n, off = self.buf[1] & 0x7F, 2
        if n == 126:
            need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        need(off + n)
        opcode, payload = self.buf[0] & 0x0F, self.buf[off : off + n]
        self.buf = self.buf[off + n :]
        return opcode, payload

    def recv_json(self, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            op, payload = self.recv_frame(timeout)
            if op == OP_TEXT:
                return json.loads(payload)
            if op == OP_CLOSE:
                raise EOFError(f"closed {struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else 1005}")

    def hello(self, token: str | None) -> dict[str, Any]:
        """Read the challenge, connect, return the connect response."""
        assert self.recv_json()["event"] == "connect.challenge"
        return self.connect(token)

    def connect(self, token: str | None) -> dict[str, Any]:
        """Send `connect` (the challenge already read); return its response."""
        self.send(connect_frame(token))
        while True:
            msg = self.recv_json()
            if msg.get("type") == "res" and msg.get("id") == "c1":
                return msg

    def until_close(self, timeout: float = 5.0) -> tuple[int | str, str, list[bytes]]:
        """Read until the server ends the connection: (close code or DROPPED or STILL_OPEN, reason, text frames seen)."""
        deadline = time.monotonic() + timeout
        seen: list[bytes] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return STILL_OPEN, "", seen
            try:
                op, payload = self.recv_frame(left)
            except (TimeoutError, socket.timeout):
                return STILL_OPEN, "", seen
            except (EOFError, ConnectionError):
                return DROPPED, "", seen
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                return code, payload[2:].decode(errors="replace"), seen
            if op == OP_TEXT:
                seen.append(payload)

    def close(self) -> None:
        self.sock.close()
