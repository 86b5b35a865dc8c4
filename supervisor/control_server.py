"""The supervisor's ROUTER on the control endpoint: every message becomes a ControlMessage command."""

from __future__ import annotations

from collections.abc import Callable

import zmq

from openclaw.ipc import control
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import Endpoint, bind_router

from .commands import Command, ControlMessage

log = get_logger("supervisor/control")


class ControlServer:
    def __init__(self, ctx: zmq.Context, url: str, enqueue: Callable[[Command], None]) -> None:
        self.url = url
        self.endpoint: Endpoint[control.ChildToSupervisor] = Endpoint(
            bind_router(ctx, url), control.supervisor_decoder, lambda ident, msg: enqueue(ControlMessage(ident or b"", msg)), log
        )

    def start(self) -> None:
        self.endpoint.start()

    def send(self, instance: str | bytes, msg: control.SupervisorToChild) -> bool:
        """False when the child is not connected (or its queue is full): the caller falls back."""
        ident = instance.encode() if isinstance(instance, str) else instance
        return self.endpoint.send(control.encode(msg), ident)

    def close(self) -> None:
        self.endpoint.close()
