"""One WebSocket connection: its state machine and its read loop.

    AWAITING_CONNECT --hello-ok--> OPEN --close/drain--> CLOSING --closed--> CLOSED
    AWAITING_CONNECT --reject/timeout--> CLOSING

Frames are parsed in openclaw.ipc.frames, the connect frame is judged in handshake.py,
requests are routed by dispatch.py.
"""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from openclaw.ipc import frames
from openclaw.ipc.logs import get_logger

from ..auth import client_address
from ..auth.connect import ConnectContext
from ..auth.principal import NOBODY, Principal
from .framing import text_frame
from .guarded_ws import GuardedWebSocketResponse
from .handshake import HandshakeRejected, accept_connect
from .limits import MAX_BUFFERED_BYTES, PREAUTH_MAX_BYTES
from .origin_policy import is_own_loopback_page
from .utf8 import INVALID_UTF8_CLOSE, valid_utf8

if TYPE_CHECKING:
    from ..services import Services
    from .dispatch import Dispatcher

log = get_logger("gateway/ws")
SLOW_CONSUMER_GRACE_S = 10.0  # to read what it holds (at most MAX_BUFFERED_BYTES) and then the close frame


class SessionState(str, enum.Enum):
    AWAITING_CONNECT = "awaiting-connect"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class SessionEvent(str, enum.Enum):
    HELLO_OK = "hello-ok"
    REJECT = "reject"
    CLOSE = "close"
    CLOSED = "closed"


_S, _E = SessionState, SessionEvent
TRANSITIONS: dict[tuple[SessionState, SessionEvent], SessionState] = {
    (_S.AWAITING_CONNECT, _E.HELLO_OK): _S.OPEN,
    (_S.AWAITING_CONNECT, _E.REJECT): _S.CLOSING,
    (_S.AWAITING_CONNECT, _E.CLOSE): _S.CLOSING,
    (_S.AWAITING_CONNECT, _E.CLOSED): _S.CLOSED,
    (_S.OPEN, _E.CLOSE): _S.CLOSING,
    (_S.OPEN, _E.CLOSED): _S.CLOSED,
    (_S.CLOSING, _E.CLOSE): _S.CLOSING,
    (_S.CLOSING, _E.CLOSED): _S.CLOSED,
    (_S.CLOSED, _E.CLOSE): _S.CLOSED,
    (_S.CLOSED, _E.CLOSED): _S.CLOSED,
}


class Session:
    __slots__ = (
        "svc", "dispatcher", "ws", "transport", "peer", "conn_id", "state", "seq", "client", "principal",
        "secret_digest", "nonce", "connected_at", "presence_key", "is_local", "own_loopback_page", "inflight", "origin", "address",
        "connect_params", "_out", "_out_bytes", "_loop",
    )

    def __init__(self, svc: Services, dispatcher: Dispatcher, ws: GuardedWebSocketResponse, request: web.Request) -> None:
        self.svc = svc
        self.dispatcher = dispatcher
        self.ws = ws
        self.transport = request.transport
        self.peer = request.remote or ""
        self.origin: str | None = request.headers.get("Origin")
        self.address = client_address.resolve(self.peer, request.headers, svc.trusted_proxies)
        self.is_local = self.address.is_loopback and self.origin is None
        sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
        # a browser on this machine showing a page this gateway served (the Control UI): pairs like the CLI
        self.own_loopback_page = self.address.is_loopback and not self.address.forwarded and sockname is not None \
            and is_own_loopback_page(self.origin, sockname[1])
        self.conn_id = str(uuid.uuid4())
        self.state = SessionState.AWAITING_CONNECT
        self.seq = 0
        self.client: frames.ClientInfo | None = None
        self.principal: Principal = NOBODY
        self.connect_params: frames.ConnectParams | None = None
        self.secret_digest: bytes | None = None
        self.nonce = str(uuid.uuid4())
        self.connected_at = 0
        self.presence_key: str | None = None
        self.inflight = 0
        self._out: list[bytes] = []  # frames of this loop iteration, written together
        self._out_bytes = 0
        self._loop = asyncio.get_running_loop()

    def advance(self, event: SessionEvent) -> SessionState:
        new = TRANSITIONS.get((self.state, event))
        if new is not None:
            self.state = new
        return self.state

    # ------------------------------------------------------------------ sending

    def send_raw(self, payload: bytes) -> None:
        """Queue one text frame (no await). The frames of one loop iteration leave in one write (one
        system call for a burst of answers). Slow consumers are closed, never silently skipped:
        output waiting for the client (queued here + aiohttp's transport buffer) never exceeds
        MAX_BUFFERED_BYTES, except one frame alone on an empty buffer."""
        t = self.transport
        if t is None or t.is_closing() or self.state is SessionState.CLOSED:
            return
        frame = text_frame(payload)
        buffered = t.get_write_buffer_size() + self._out_bytes
        if buffered and buffered + len(frame) > MAX_BUFFERED_BYTES:
            log.warn("closing slow consumer", conn=self.conn_id, buffered=buffered, frame=len(frame))
            self._out.clear()
            self._out_bytes = 0
            self.close_soon(1008, "slow consumer", SLOW_CONSUMER_GRACE_S)
            return
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(frame)
        self._out_bytes += len(frame)

    def _flush(self) -> None:
        out, self._out, self._out_bytes = self._out, [], 0
        t = self.transport
        if out and t is not None and not t.is_closing():
            t.write(out[0] if len(out) == 1 else b"".join(out))

    def send_event(self, prefix: bytes) -> None:
        """`prefix` from frames.event_prefix: this connection adds its own seq."""
        if self.state is not SessionState.OPEN:
            return
        self.seq += 1
        self.send_raw(frames.event_with_seq(prefix, self.seq))

    def close_soon(self, code: int, reason: str, grace_s: float = 2.0) -> None:
        """Close after what is queued; abort if the client has not taken it all within `grace_s`."""
        if self.state in (SessionState.CLOSING, SessionState.CLOSED):
            return
        self.advance(SessionEvent.CLOSE)
        asyncio.get_running_loop().create_task(self._close(code, reason, grace_s))

    async def _close(self, code: int, reason: str, grace_s: float) -> None:
        try:
            await asyncio.wait_for(self._close_ws(code, reason.encode()[:123]), grace_s)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    async def _close_ws(self, code: int, message: bytes) -> None:
        """The close frame goes after every frame already queued, never before."""
        self._flush()
        await self.ws.close(code=code, message=message)

    def abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    # ------------------------------------------------------------------ reading

    async def run(self) -> None:
        svc = self.svc
        svc.hub.add(self)  # from the start, so a drain closes half-open handshakes too
        self.send_raw(
            frames.event_unsequenced(
                "connect.challenge", {"nonce": self.nonce, "ts": int(time.time() * 1000), "capabilities": []}
            )
        )
        try:
            if not await self._handshake():
                return
            handle = self.dispatcher.handle
            async for msg in self.ws:
                if msg.type is WSMsgType.TEXT:
                    handle(self, msg.data if isinstance(msg.data, bytes) else msg.data.encode())
                elif msg.type is WSMsgType.BINARY:
                    self.dispatcher.handle_binary(self, msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self.advance(SessionEvent.CLOSED)
            svc.hub.remove(self)
            svc.presence.disconnected(self.presence_key)
            if self.principal.role == "node" and self.connected_at:
                svc.nodes.disconnected(self)

    async def _handshake(self) -> bool:
        ws = self.ws
        timeout = self.svc.settings.gateway.handshake_timeout_ms / 1000
        try:
            msg = await ws.receive(timeout=timeout)
        except asyncio.TimeoutError:
            self.advance(SessionEvent.REJECT)
            await self._close_ws(1000, b"")
            return False
        if msg.type is WSMsgType.ERROR:  # e.g. a frame over the size limit: aiohttp closed 1009
            self.advance(SessionEvent.REJECT)
            return False
        if msg.type is not WSMsgType.TEXT:
            self.advance(SessionEvent.REJECT)
            if msg.type is WSMsgType.BINARY:
                await self._close_ws(1000, b"")
            return False
        data: Any = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
        if len(data) > PREAUTH_MAX_BYTES:
            self.advance(SessionEvent.REJECT)
            await self._close_ws(1009, b"")
            return False
        if not valid_utf8(data):
            self.advance(SessionEvent.REJECT)
            await self._close_ws(INVALID_UTF8_CLOSE, b"invalid UTF-8")
            return False
        ctx = ConnectContext(self.conn_id, self.nonce, self.address, self.origin, self.own_loopback_page)
        try:
            hello, self.connect_params = await accept_connect(self.svc, self, ctx, data)
        except HandshakeRejected as rej:
            self.advance(SessionEvent.REJECT)
            if rej.response is not None:
                self.send_raw(rej.response)
            # a locked-out key's attempts are answered at once: at debug, so a flood cannot fill the log
            level = log.debug if "too many failed authentication" in rej.reason else log.info
            level("connect rejected", conn=self.conn_id, peer=self.address.ip, origin=self.origin, reason=rej.reason, code=rej.close_code)
            await self._close_ws(rej.close_code, rej.reason.encode()[:123])
            return False
        self.advance(SessionEvent.HELLO_OK)
        self.ws.authenticated()
        p = self.principal
        log.debug(
            "connect accepted", conn=self.conn_id, peer=self.address.ip, forwarded=self.address.forwarded, origin=self.origin,
            client=f"{p.client_id}/{p.client_mode}", role=p.role, scopes=list(p.scopes), auth=p.auth_method,
            device=p.device_id[:12] if p.device_id else None,
        )
        self.connected_at = int(time.time() * 1000)
        self.send_raw(hello)
        svc = self.svc
        self.send_event(frames.event_prefix("health", svc.health.snapshot_payload, svc.state_version()))
        self.presence_key = svc.presence.connected(self)
        if self.principal.role == "node":
            svc.nodes.connected(self, self.connect_params)
        return True
