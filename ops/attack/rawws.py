"""A bare RFC 6455 client on asyncio streams: it sends whatever frame bytes an attack needs
(unmasked, reserved bits, lying lengths) and reports exactly how the server ended the
connection (close code, or none)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import uuid
from typing import Any

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
NO_CLOSE_FRAME = "none"  # the TCP connection ended without a close frame
STILL_OPEN = "open"  # nothing ended it within the time allowed


class UpgradeRefused(Exception):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def frame(payload: bytes, opcode: int = OP_TEXT, *, fin: bool = True, mask: bool = True, rsv: int = 0,
          length: int | None = None) -> bytes:
    """One client frame. `length` declares another length than the payload's (a frame whose
    payload follows later, or never); `rsv` is the 3 reserved bits (0..7)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | opcode
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + mask_bytes(key, payload)


def mask_bytes(key: bytes, payload: bytes) -> bytes:
    if not payload:
        return b""
    n = len(payload)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


def connect_frame(token: str | None, req_id: str = "c1", client_id: str = "cli", mode: str = "cli") -> bytes:
    params: dict[str, Any] = {
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": client_id, "version": "attack", "platform": "linux", "mode": mode,
                   "instanceId": f"attack-{uuid.uuid4()}"},
        "role": "operator", "scopes": ["operator.admin"],
    }
    if token is not None:
        params["auth"] = {"token": token}
    return json.dumps({"type": "req", "id": req_id, "method": "connect", "params": params}).encode()


class RawWS:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int, path: str = "/", headers: dict[str, str] | None = None,
                   method: str = "GET", timeout: float = 5.0, rcvbuf: int | None = None) -> RawWS:
        """Upgrade; raises UpgradeRefused with the HTTP answer when it is not 101."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
        except BaseException:
            sock.close()
            raise
        limit = 64 * 1024 * 1024
        reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
        key = base64.b64encode(os.urandom(16)).decode()
        hdrs = {"Host": f"{host}:{port}" if ":" not in host else f"[{host}]:{port}", "Upgrade": "websocket",
                "Connection": "Upgrade", "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
        hdrs.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        writer.write(head.encode())
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except BaseException:
            writer.close()
            raise
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        got = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if status != 101:
            body = b""
            n = int(got.get("content-length", "0") or 0)
            if n:
                try:
                    body = await asyncio.wait_for(reader.readexactly(n), timeout)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, OSError):
                    pass
            writer.close()
            raise UpgradeRefused(status, got, body)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_json(self, obj: Any) -> None:
        await self.send(frame(json.dumps(obj).encode()))

    async def recv_frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """(opcode, payload); raises EOFError when the connection ends."""
        async def read() -> tuple[int, bytes]:
            try:
                b0, b1 = await self.reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                return b0 & 0x0F, await self.reader.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                raise EOFError(str(exc)) from None

        return await asyncio.wait_for(read(), timeout)

    async def recv_json(self, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            op, payload = await self.recv_frame(timeout)
            if op == OP_TEXT:
                return json.loads(payload)
            if op == OP_CLOSE:
                raise EOFError(f"closed {close_code_of(payload)}")

    async def hello(self, token: str | None, client_id: str = "cli", mode: str = "cli") -> dict[str, Any]:
        """Challenge, connect, and the connect response (ok or not)."""
        await self.recv_json()  # connect.challenge
        await self.send(frame(connect_frame(token, "c1", client_id, mode)))
        while True:
            msg = await self.recv_json()
            if msg.get("type") == "res" and msg.get("id") == "c1":
                return msg

    async def until_close(self, timeout: float = 5.0) -> tuple[int | str, str]:
        """Read until the server ends the connection: (close code, reason), or (NO_CLOSE_FRAME, ""),
        or (STILL_OPEN, "") when nothing ended it within `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return STILL_OPEN, ""
            try:
                op, payload = await self.recv_frame(left)
            except asyncio.TimeoutError:
                return STILL_OPEN, ""
            except EOFError:
                return NO_CLOSE_FRAME, ""
            if op == OP_CLOSE:
                return close_code_of(payload), payload[2:].decode(errors="replace")

    def close(self) -> None:
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


def close_code_of(payload: bytes) -> int:
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
