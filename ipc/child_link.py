"""A child's end of the control socket: Hello -> Configure, Ready, heartbeats, inbound messages.

Shared by the front-end and every worker so the handshake with the supervisor is
written once. Heartbeats run on the child's own event loop: a wedged loop stops
them, which is exactly what the supervisor should notice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable

import msgspec
import zmq
import zmq.asyncio

from . import control
from .parent_watch import die_with_parent, parent_alive
from .transport import connect_dealer
from .version import IPC_VERSION

HEARTBEAT_S = 1.0
CONFIGURE_TIMEOUT_S = 10.0


class SupervisorLink:
    def __init__(self, ctx: zmq.asyncio.Context) -> None:
        self.name = os.environ["OPENCLAW_CHILD_NAME"]
        self.parent_pid = int(os.environ["OPENCLAW_SUPERVISOR_PID"])
        die_with_parent(self.parent_pid)
        self.sock = connect_dealer(ctx, os.environ["OPENCLAW_CONTROL_URL"], self.name)
        self.handlers: list[Callable[[control.SupervisorToChild], None]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def hello(self) -> control.Configure:
        """Say hello and wait for our configuration; exit 1 if the supervisor never answers."""
        await self.sock.send(control.encode(control.ChildHello(name=self.name, pid=os.getpid(), ipc_version=IPC_VERSION)))
        try:
            while True:
                body = await asyncio.wait_for(self.sock.recv(), CONFIGURE_TIMEOUT_S)
                msg = control.child_decoder.decode(body)
                if isinstance(msg, control.Configure):
                    return msg
        except (asyncio.TimeoutError, msgspec.DecodeError) as exc:
            sys.stderr.write(f"openclaw {self.name}: no configuration from the supervisor ({exc!r})\n")
            raise SystemExit(1) from None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._heartbeat(), name="supervisor-heartbeat"),
            loop.create_task(self._recv(), name="supervisor-recv"),
        ]

    def send(self, msg: control.ChildToSupervisor) -> None:
        try:
            self.sock.send(control.encode(msg), flags=zmq.NOBLOCK)
        except zmq.ZMQError:
            pass

    def ready(self) -> None:
        self.send(control.ChildReady(name=self.name))

    async def _heartbeat(self) -> None:
        beat = control.encode(control.ChildHeartbeat(name=self.name))
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if not parent_alive(self.parent_pid):
                os.kill(os.getpid(), signal.SIGTERM)
                return
            try:
                self.sock.send(beat, flags=zmq.NOBLOCK)
            except zmq.ZMQError:
                pass

    async def _recv(self) -> None:
        while True:
            try:
                body = await self.sock.recv()
            except (zmq.ZMQError, asyncio.CancelledError):
                return
            try:
                msg = control.child_decoder.decode(body)
            except msgspec.DecodeError:
                continue
            for handler in self.handlers:
                handler(msg)

    def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        self.sock.close(linger=0)
