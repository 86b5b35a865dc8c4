"""The supervisor's ROUTER on the control endpoint: decode, enqueue, reply."""

from __future__ import annotations

import asyncio

import msgspec
import zmq
import zmq.asyncio

from openclaw.ipc import control
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import bind_router

from .commands import Command, ControlMessage

log = get_logger("supervisor/control")


class ControlServer:
    def __init__(self, ctx: zmq.asyncio.Context, url: str, queue: asyncio.Queue[Command]) -> None:
        self.url = url
        self.queue = queue
        self.sock = bind_router(ctx, url)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._recv_loop(), name="control-recv")

    async def _recv_loop(self) -> None:
        while True:
            try:
                frames = await self.sock.recv_multipart()
            except (zmq.ZMQError, asyncio.CancelledError):
                return
            if len(frames) != 2:
                log.warn("dropped malformed control message", frames=len(frames))
                continue
            identity, body = frames
            try:
                msg = control.supervisor_decoder.decode(body)
            except msgspec.DecodeError as exc:
                log.warn("dropped undecodable control message", peer=identity.decode(errors="replace"), error=str(exc))
                continue
            self.queue.put_nowait(ControlMessage(identity, msg))

    def send(self, identity: str | bytes, msg: control.SupervisorToChild) -> bool:
        ident = identity.encode() if isinstance(identity, str) else identity
        try:
            self.sock.send_multipart([ident, control.encode(msg)], flags=zmq.NOBLOCK)
            return True
        except zmq.ZMQError:
            return False

    def close(self) -> None:
        if self.task:
            self.task.cancel()
        self.sock.close(linger=0)
