"""aiohttp's WebSocketResponse with the frame-header guard (wire_guard.py) in front of its reader.

After the upgrade aiohttp hands every byte the client sends to `protocol._payload_parser`
(its WebSocketReader), first the bytes that came with the upgrade request
(`protocol._message_tail`, fed inside `set_parser`), then each read. `_post_start` takes that
tail aside, lets aiohttp install its reader, puts a GuardedReader in its place and replays the
tail through it. A refused frame never reaches aiohttp: the guard writes the close frame itself
and closes the transport (aborted if the peer does not take the close within ABORT_AFTER_S).

The guard stays on after hello-ok with the post-auth limit: it costs <1 % of routed calls/s
(ops/bench, measured in the commit that added it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from openclaw.ipc.logs import get_logger

from .framing import close_frame
from .wire_guard import FrameHeaderGuard, Refusal

log = get_logger("gateway/ws")
ABORT_AFTER_S = 2.0


class GuardedReader:
    """Stands in for aiohttp's WebSocketReader as the protocol's payload parser."""

    __slots__ = ("reader", "protocol", "guard", "refused")

    def __init__(self, reader: Any, protocol: Any, guard: FrameHeaderGuard) -> None:
        self.reader = reader
        self.protocol = protocol
        self.guard = guard
        self.refused: Refusal | None = None

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self.refused is not None:
            return True, b""
        try:
            self.guard.check(data)
        except Refusal as refusal:
            self._refuse(refusal)
            return True, b""  # aiohttp: this connection takes no more input
        return self.reader.feed_data(data)

    def feed_eof(self) -> None:
        self.reader.feed_eof()

    def _refuse(self, refusal: Refusal) -> None:
        self.refused = refusal
        transport = self.protocol.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        log.debug("websocket frame refused", code=refusal.code, reason=refusal.reason, peer=str(peer))
        if transport is None or transport.is_closing():
            return
        transport.write(close_frame(refusal.code, refusal.reason))
        transport.close()  # after the close frame leaves
        asyncio.get_running_loop().call_later(ABORT_AFTER_S, transport.abort)
        self.reader.feed_eof()  # the session's receive() ends now, not when the socket does


class GuardedWebSocketResponse(web.WebSocketResponse):
    """A WebSocketResponse whose input passes the frame-header guard, `preauth_limit` bytes per
    message until `authenticated()`, then `limit`."""

    def __init__(self, *, preauth_limit: int, limit: int, on_authenticated: Callable[[], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(max_msg_size=limit + 1, **kwargs)  # the guard is the judge; aiohttp's limit is a backstop
        self.guard = FrameHeaderGuard(preauth_limit)
        self._limit = limit
        self._on_authenticated = on_authenticated

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        proto: Any = request.protocol
        tail, proto._message_tail = proto._message_tail, b""
        super()._post_start(request, protocol, writer)
        guarded = GuardedReader(proto._payload_parser, proto, self.guard)
        proto._payload_parser = guarded
        if tail:
            eof, _ = guarded.feed_data(tail)
            if eof:
                proto.close()

    def authenticated(self) -> None:
        """hello-ok was sent: messages up to the post-auth limit from now on."""
        self.guard.limit = self._limit
        if self._on_authenticated is not None:
            callback, self._on_authenticated = self._on_authenticated, None
            callback()
