"""A child's end of the control socket: Hello -> Configure, Ready, heartbeats, inbound messages.

Shared by the front-end and every worker so the lifecycle is written once. Heartbeats run
on the child's own event loop every 250 ms: a wedged loop stops them, which is exactly what
the supervisor watches for. A child whose supervisor is gone is *orphaned*: it has no one to
hand over to, so it is told to stop at once (`on_orphaned`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import zmq

from . import control
from .faults import Faults
from .logs import Logger
from .parent_watch import die_with_parent, parent_alive
from .transport import Endpoint, connect_dealer
from .version import IPC_VERSION

HEARTBEAT_S = 0.25
MAX_EARLY = 32
CONFIGURE_TIMEOUT_S = 10.0

ENV_NAME = "OPENCLAW_CHILD_NAME"
ENV_INSTANCE = "OPENCLAW_CHILD_INSTANCE"
ENV_CONTROL = "OPENCLAW_CONTROL_URL"
ENV_PARENT = "OPENCLAW_SUPERVISOR_PID"


class SupervisorLink:
    def __init__(self, ctx: zmq.Context, log: Logger) -> None:
        self.name = os.environ[ENV_NAME]
        self.instance = os.environ.get(ENV_INSTANCE, self.name)
        self.parent_pid = int(os.environ[ENV_PARENT])
        self.log = log
        die_with_parent(self.parent_pid)
        sock = connect_dealer(ctx, os.environ[ENV_CONTROL], self.instance)
        self.endpoint: Endpoint[control.SupervisorToChild] = Endpoint(sock, control.child_decoder, self._on_message, log)
        self._handlers: dict[type, Callable[[Any], None]] = {}
        self._early: list[control.SupervisorToChild] = []  # arrived before their handler existed
        self._configure: asyncio.Future[control.Configure] | None = None
        self._beat: asyncio.TimerHandle | None = None
        self.on_orphaned: Callable[[], None] = lambda: None
        self._beat_body = control.encode(control.ChildHeartbeat(self.instance))

    def on(self, kind: type, handler: Callable[[Any], None]) -> None:
        """Call `handler(msg)` for every inbound message of type `kind`, including any that came
        before the handler was set (the supervisor sends the tree state right after Configure)."""
        self._handlers[kind] = handler
        early = [m for m in self._early if isinstance(m, kind)]
        self._early = [m for m in self._early if not isinstance(m, kind)]
        for msg in early:
            handler(msg)

    def _on_message(self, _identity: bytes | None, msg: control.SupervisorToChild) -> None:
        if isinstance(msg, control.Configure):
            if self._configure is not None and not self._configure.done():
                self._configure.set_result(msg)
            return
        handler = self._handlers.get(type(msg))
        if handler is not None:
            handler(msg)
        elif len(self._early) < MAX_EARLY:
            self._early.append(msg)

    async def hello(self, stop: asyncio.Event) -> control.Configure | None:
        """Say hello and wait for our configuration. None if told to stop meanwhile;
        exit 1 if the supervisor never answers."""
        loop = asyncio.get_running_loop()
        self._configure = loop.create_future()
        self.endpoint.start()
        self.send(control.ChildHello(name=self.name, instance=self.instance, pid=os.getpid(), ipc_version=IPC_VERSION))
        stopping = loop.create_task(stop.wait())
        done, _ = await asyncio.wait({self._configure, stopping}, timeout=CONFIGURE_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if self._configure in done:
            return self._configure.result()
        if stop.is_set():
            return None
        sys.stderr.write(f"openclaw {self.instance}: no configuration from the supervisor within {CONFIGURE_TIMEOUT_S:.0f}s\n")
        raise SystemExit(1)

    def start_heartbeat(self) -> None:
        self._beat = asyncio.get_running_loop().call_soon(self._heartbeat)

    def _heartbeat(self) -> None:
        if not parent_alive(self.parent_pid):
            self.on_orphaned()
            return
        self.endpoint.send(self._beat_body)
        self._beat = asyncio.get_running_loop().call_later(HEARTBEAT_S, self._heartbeat)

    def send(self, msg: control.ChildToSupervisor) -> bool:
        return self.endpoint.send(control.encode(msg))

    def ready(self) -> None:
        self.send(control.ChildReady(self.instance))

    def boot_failed(self, reason: str, exit_code: int = 1) -> None:
        self.send(control.ChildBootFailed(instance=self.instance, reason=reason, exit_code=exit_code))

    @property
    def orphaned(self) -> bool:
        return not parent_alive(self.parent_pid)

    def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
        self.endpoint.close()


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None], faults: Faults | None) -> None:
    """TERM/INT stop the child (from the first moment, even while it waits for Configure);
    restart signals are the supervisor's business and are ignored here."""
    if faults is not None and faults.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGINT, stop)
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
        loop.add_signal_handler(sig, lambda: None)
