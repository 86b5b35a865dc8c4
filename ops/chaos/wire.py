"""The Gateway WebSocket protocol, as much of it as the chaos clients need: open a connection,
answer the challenge with `connect`, and tell apart the ways a connect attempt can fail."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus

PROTOCOL = 4
CONNECT_ID = "c"
REFUSED_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE}


class ConnectFailure(Exception):
    """A connect attempt that did not end with hello-ok.

    kind: `refused` (ECONNREFUSED, or reset/closed before any answer), `rejected` (an HTTP
    status instead of the upgrade, e.g. 503 while draining), `handshake` (challenge seen, then
    an error or a close), `timeout`, `error` (anything else).
    """

    def __init__(self, kind: str, detail: str, status: int | None = None, close_code: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail, self.status, self.close_code = kind, detail, status, close_code


def check_loopback_url(url: str) -> tuple[str, int]:
    """`ws://127.0.0.1:P` / `ws://[::1]:P` / `ws://localhost:P` -> (host, port); anything else is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"--url must be ws:// (got {url!r})")
    host = parts.hostname or ""
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"--url host must be a loopback address (127.0.0.1, ::1 or localhost), got {host!r}") from None
    if not ip.is_loopback:
        raise ValueError(f"--url host {host} is not a loopback address; this tool only talks to this machine")
    if parts.port is None:
        raise ValueError("--url needs an explicit port")
    return host, parts.port


def http_base(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def ws_url(host: str, port: int) -> str:
    return f"ws://[{host}]:{port}/" if ":" in host else f"ws://{host}:{port}/"


def connect_params(token: str, tag: str) -> dict[str, Any]:
    return {
        "minProtocol": PROTOCOL,
        "maxProtocol": PROTOCOL,
        "client": {"id": "cli", "version": "chaos", "platform": "linux", "mode": "cli", "instanceId": f"chaos-{tag}-{uuid.uuid4()}"},
        "role": "operator",
        "scopes": ["operator.admin"],
        "auth": {"token": token},
    }


def _is_refusal(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError, EOFError)):
            return True
        if isinstance(exc, OSError) and exc.errno in REFUSED_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


async def open_session(url: str, token: str, tag: str, timeout: float = 5.0) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect and complete the handshake; returns the connection and the hello-ok payload."""
    try:
        ws = await asyncio.wait_for(
            connect(url, compression=None, max_size=None, open_timeout=None, ping_interval=None, close_timeout=1, proxy=None),
            timeout,
        )
    except InvalidStatus as exc:
        raise ConnectFailure("rejected", f"HTTP {exc.response.status_code} on the upgrade", status=exc.response.status_code) from None
    except InvalidMessage as exc:  # the server closed or reset before any HTTP answer
        raise ConnectFailure("refused", f"closed before the HTTP answer ({exc.__cause__!r})") from None
    except (TimeoutError, asyncio.TimeoutError):
        raise ConnectFailure("timeout", f"no upgrade answer within {timeout:.0f}s") from None
    except OSError as exc:
        if _is_refusal(exc):
            raise ConnectFailure("refused", f"{type(exc).__name__}: {exc.strerror or exc}") from None
        raise ConnectFailure("error", repr(exc)) from None
    try:
        challenge = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if challenge.get("event") != "connect.challenge":
            raise ConnectFailure("handshake", f"first frame is not connect.challenge: {str(challenge)[:120]}")
        await ws.send(json.dumps({"type": "req", "id": CONNECT_ID, "method": "connect", "params": connect_params(token, tag)}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if frame.get("type") == "res" and frame.get("id") == CONNECT_ID:
                break
        if not frame.get("ok"):
            err = frame.get("error") or {}
            raise ConnectFailure("handshake", f"connect refused: {err.get('code')} {err.get('message')}")
        return ws, frame.get("payload") or {}
    except ConnectionClosed as exc:
        await ws.close()
        code = exc.rcvd.code if exc.rcvd else 1006
        raise ConnectFailure("handshake", f"closed during the handshake (code {code})", close_code=code) from None
    except (TimeoutError, asyncio.TimeoutError):
        await ws.close()
        raise ConnectFailure("timeout", f"no hello-ok within {timeout:.0f}s") from None
    except ConnectFailure:
        await ws.close()
        raise


def close_code_of(exc: ConnectionClosed) -> int:
    """The code the server sent, 1006 when the connection ended without a close frame."""
    return exc.rcvd.code if exc.rcvd is not None else 1006
