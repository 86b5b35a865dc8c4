"""The bounded aiohttp server both HTTP listeners run (the gateway port: frontend/http/server.py;
the canvas port: workers/canvas/connections.py). Each supplies its own answers; the timing is here.

    head deadline   a request head must be complete HEADERS_TIMEOUT_S after its first byte (a new
                    connection: after it opened). A deadline, not an idle timeout: trickling a byte
                    every few seconds does not extend it (slowloris). Missed: the listener's 408
                    (unless a request is being answered), then the connection is closed (aborted
                    ABORT_AFTER_S later if the peer does not read). Between requests on a keep-alive
                    connection no deadline runs (the keep-alive timeout does); bytes arriving there
                    start the next request's. Upgraded (WebSocket) connections are not timed here.
    keep-alive      the runner's `keepalive_timeout` (aiohttp's own default is an hour).
    connections     optionally at most `max_connections` open at once; one more gets the
                    listener's 503 and is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

HEADERS_TIMEOUT_S = 10.0
ABORT_AFTER_S = 2.0


class BoundedRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol with the head deadline and an optional connection cap.
    Subclasses answer: `deadline_answer()` (the raw 408) and `overload_answer()` (the raw 503)."""

    __slots__ = ("_head_deadline", "_last_payload")
    max_connections: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._last_payload: Any = None  # the body of the request parsed last

    def deadline_answer(self) -> bytes:
        raise NotImplementedError

    def overload_answer(self) -> bytes:
        raise NotImplementedError

    def on_deadline_missed(self, transport: asyncio.BaseTransport) -> None:
        """A hook for a log line."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.max_connections is not None and self._manager is not None \
                and len(self._manager.connections) > self.max_connections:
            self._close_with(transport, self.overload_answer())
            return
        self._arm_head_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._upgraded or self._payload_parser is not None:
            super().data_received(data)
            return
        # Bytes that arrive while no request body is being read start a request head.
        if self._head_deadline is None and data and (self._last_payload is None or self._last_payload.is_eof()):
            self._arm_head_deadline()
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            self._disarm_head_deadline()
            if self._messages:
                self._last_payload = self._messages[-1][1]

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self._loop.call_later(HEADERS_TIMEOUT_S, self._head_deadline_missed)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_deadline_missed(self) -> None:
        self._head_deadline = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.on_deadline_missed(transport)
        self._close_with(transport, b"" if self._request_in_progress else self.deadline_answer())

    def _close_with(self, transport: asyncio.BaseTransport, answer: bytes) -> None:
        if answer:
            transport.write(answer)  # type: ignore[attr-defined]
        self.force_close()  # closes the transport after the answer leaves
        transport.close()
        self._loop.call_later(ABORT_AFTER_S, transport.abort)  # type: ignore[attr-defined]


def bounded_runner(handler: type[BoundedRequestHandler], keepalive_s: float) -> Callable[..., web.AppRunner]:
    """An AppRunner class whose connections are `handler`s, idle keep-alives closed after `keepalive_s`."""

    class Server(web.Server):
        def __call__(self) -> BoundedRequestHandler:
            return handler(self, loop=self._loop, **self._kwargs)

    class Runner(web.AppRunner):
        def __init__(self, app: web.Application, **kwargs: Any) -> None:
            kwargs.setdefault("keepalive_timeout", keepalive_s)
            super().__init__(app, **kwargs)

        async def _make_server(self) -> web.Server:
            base = await super()._make_server()
            return Server(
                base.request_handler, request_factory=base.request_factory,
                handler_cancellation=base.handler_cancellation, loop=base._loop, **base._kwargs,
            )

    return Runner
