"""ZeroMQ on the asyncio loop: socket factories with the project's hygiene, and `Endpoint`,
the one receive -> decode -> dispatch loop every process uses.

Sockets are plain pyzmq sockets driven by the loop's reader callback on ZMQ_FD, with no
future or task per message. ZMQ_FD is edge-triggered, so a wake-up drains the socket until
EAGAIN, and a send re-checks for input (a send can consume the edge that announced it).
Sends never block and never lose an error: `send` returns False when the peer is gone or
its queue is full, and the caller decides what that means.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

import msgspec
import zmq

from .errors import DECODE_ERRORS
from .logs import Logger

HWM = 10000
BATCH = 256  # messages handled per wake-up before yielding to the loop

M = TypeVar("M")


def endpoint(runtime_dir: str | Path, name: str) -> str:
    return f"ipc://{Path(runtime_dir) / name}"


def prepare_runtime_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def _common(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, HWM)
    sock.setsockopt(zmq.RCVHWM, HWM)


def bind_router(ctx: zmq.Context, url: str) -> zmq.Socket:
    sock = ctx.socket(zmq.ROUTER)
    _common(sock)
    # A restarted peer reconnects with the same identity: let it take over the route.
    sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
    # Sends to a peer that is gone fail loudly instead of vanishing.
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    path = url[len("ipc://"):] if url.startswith("ipc://") else None
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    sock.bind(url)
    if path:
        os.chmod(path, 0o600)
    return sock


def connect_dealer(ctx: zmq.Context, url: str, identity: str) -> zmq.Socket:
    sock = ctx.socket(zmq.DEALER)
    _common(sock)
    sock.setsockopt(zmq.IDENTITY, identity.encode())
    sock.setsockopt(zmq.RECONNECT_IVL, 50)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, 200)
    sock.connect(url)
    return sock


class Endpoint(Generic[M]):
    """One socket on the loop. `handle(identity, message)` gets every decoded message;
    identity is the peer's routing id on a ROUTER and None on a DEALER.

    Malformed input (wrong frame count, undecodable body) is dropped with a log line,
    rate limited; an exception in `handle` is logged and the loop goes on.
    """

    def __init__(
        self,
        sock: zmq.Socket,
        decoder: msgspec.msgpack.Decoder,
        handle: Callable[[bytes | None, M], None],
        log: Logger,
    ) -> None:
        self.sock = sock
        self.decoder = decoder
        self.handle = handle
        self.log = log
        self.router = sock.socket_type == zmq.ROUTER
        self.dropped = 0
        self._last_drop_log = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_scheduled = False
        self.closed = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.getsockopt(zmq.FD), self._drain)
        self._schedule_drain()  # messages may have arrived before the reader was added

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled and self._loop is not None and not self.closed:
            self._drain_scheduled = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        if self.closed:
            return
        sock, router = self.sock, self.router
        for _ in range(BATCH):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError as exc:
                if not self.closed:
                    self.log.warn("receive failed", error=str(exc))
                return
            if router:
                if len(frames) != 2:
                    self._drop(frames[0] if frames else None, f"{len(frames)} frames")
                    continue
                identity, body = frames
            else:
                if len(frames) != 1:
                    self._drop(None, f"{len(frames)} frames")
                    continue
                identity, body = None, frames[0]
            try:
                msg = self.decoder.decode(body)
            except DECODE_ERRORS as exc:
                self._drop(identity, type(exc).__name__ if isinstance(exc, RecursionError) else str(exc))
                continue
            try:
                self.handle(identity, msg)
            except Exception as exc:  # a handler bug must not stop the socket
                self.log.error("message handler failed", kind=type(msg).__name__, error=repr(exc))
        self._schedule_drain()  # more may be queued: continue after other callbacks ran

    def _drop(self, identity: bytes | None, why: str) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_log >= 1.0:
            self._last_drop_log = now
            peer = identity.decode(errors="replace") if identity else None
            self.log.warn("dropped malformed message", peer=peer, reason=why[:200], dropped=self.dropped)

    def send(self, body: bytes, identity: bytes | None = None) -> bool:
        """Queue one message; False when it cannot be delivered (peer gone, queue full, closed)."""
        if self.closed:
            return False
        try:
            if identity is None:
                self.sock.send(body, zmq.NOBLOCK)
            else:
                self.sock.send_multipart((identity, body), zmq.NOBLOCK)
        except zmq.ZMQError:
            return False
        finally:
            self._schedule_drain()
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._loop is not None:
            try:
                self._loop.remove_reader(self.sock.getsockopt(zmq.FD))
            except (zmq.ZMQError, ValueError, OSError):
                pass
        self.sock.close(linger=0)
