"""ZeroMQ on the asyncio loop: socket factories with the project's hygiene, and `Endpoint`,
the one receive -> decode -> dispatch loop every process uses.

Sockets are plain pyzmq sockets driven by the loop's reader callback on ZMQ_FD, with no
future or task per message. ZMQ_FD is edge-triggered, so a wake-up drains the socket until
EAGAIN, and a send re-checks for input (a send can consume the edge that announced it).
Sends never block and never lose an error: `send` returns False when the peer is gone, its
queue is full or the message is over the size limit, and the caller decides what that means.

Input is untrusted (any local process of the same user can connect): a malformed message
(wrong frame count, bytes that do not decode to this socket's message types, a frame over
MAX_MESSAGE_BYTES) is dropped and counted, logged once per peer (drops.py); nothing a peer
sends can raise out of the loop or stop the socket. A ROUTER ignores a second connection
presenting an identity already in use (no ROUTER_HANDOVER), so no peer can take over a live
child's route.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

import msgspec
import zmq

from .drops import DropLog
from .logs import Logger

HWM = 10000
BATCH = 256  # messages handled per wake-up before yielding to the loop
# Larger than anything legitimate (a WS frame is at most 25 MiB, a config file 2 MiB), small
# enough that no peer can make a process allocate without bound: libzmq drops the connection
# of a peer that sends a bigger frame, and `send` refuses to queue one.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

M = TypeVar("M")


def endpoint(runtime_dir: str | Path, name: str) -> str:
    return f"ipc://{Path(runtime_dir) / name}"


def _common(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, HWM)
    sock.setsockopt(zmq.RCVHWM, HWM)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)


def bind_router(ctx: zmq.Context, url: str) -> zmq.Socket:
    sock = ctx.socket(zmq.ROUTER)
    _common(sock)
    # Every process has its own identity (child name and spawn number), so a second connection
    # with an identity in use is an impostor: libzmq ignores it (ROUTER_HANDOVER stays off).
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

    Malformed input is dropped and counted (`drops`); a handler may refuse a well-formed
    message the same way (`drop`). An exception in `handle` is logged and the loop goes on.
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
        self.router = sock.type == zmq.ROUTER
        self.drops = DropLog(log, _socket_name(sock))
        self.handler_failures = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_scheduled = False
        self._oversize_logged = False
        self.closed = False

    @property
    def dropped(self) -> int:
        return self.drops.total

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
                    self.drop(frames[0], f"{len(frames)} frames, expected identity + body")
                    continue
                identity, body = frames
            else:
                if len(frames) != 1:
                    self.drop(None, f"{len(frames)} frames, expected 1")
                    continue
                identity, body = None, frames[0]
            try:
                msg = self.decoder.decode(body)
            except Exception as exc:  # untrusted bytes: whatever decoding raises, only this message is lost
                self.drop(identity, _decode_failure(exc))
                continue
            try:
                self.handle(identity, msg)
            except Exception as exc:  # a handler bug must not stop the socket
                self._handler_failed(msg, exc)
        self._schedule_drain()  # more may be queued: continue after other callbacks ran

    def _handler_failed(self, msg: object, exc: Exception) -> None:
        self.handler_failures += 1
        n = self.handler_failures
        if n <= 10 or n % 1000 == 0:  # a bug hit by every message must not flood the log
            self.log.error("message handler failed", kind=type(msg).__name__, error=repr(exc)[:300], failures=n)

    def drop(self, identity: bytes | None, why: str) -> None:
        """Refuse one message: counted, logged once per peer."""
        self.drops.record(identity, why)

    def send(self, body: bytes, identity: bytes | None = None) -> bool:
        """Queue one message; False when it cannot be delivered (peer gone, queue full, too big, closed)."""
        if self.closed:
            return False
        if len(body) > MAX_MESSAGE_BYTES:
            if not self._oversize_logged:
                self._oversize_logged = True
                self.log.error("refused to send an oversize internal message", bytes=len(body), limit=MAX_MESSAGE_BYTES)
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

    def close(self, linger_ms: int = 0) -> None:
        """`linger_ms`: how long queued messages may still leave (a stopping worker's last answers)."""
        if self.closed:
            return
        self.closed = True
        self.drops.close()
        if self._loop is not None:
            try:
                self._loop.remove_reader(self.sock.getsockopt(zmq.FD))
            except (zmq.ZMQError, ValueError, OSError):
                pass
        self.sock.close(linger=linger_ms)


def _socket_name(sock: zmq.Socket) -> str:
    """The endpoint's file name ("control.sock"), for log lines."""
    try:
        url = sock.getsockopt(zmq.LAST_ENDPOINT)
    except zmq.ZMQError:
        return "?"
    text = url.decode(errors="replace") if isinstance(url, bytes) else str(url)
    return text.rstrip("\x00").rsplit("/", 1)[-1] or "?"


def _decode_failure(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) if isinstance(exc, msgspec.DecodeError) else f"{type(exc).__name__}: {exc}"
