"""The front-end's ROUTER to the workers: who serves which method, calls with deadlines.

Workers declare their methods in Register; that table is the only routing list.
A method whose worker is down (or not yet registered at start-up) answers
UNAVAILABLE with retry hints; a call nobody answers in time fails at its deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import zmq
import zmq.asyncio

from openclaw.ipc import envelope
from openclaw.ipc.errors import GatewayError, unavailable
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import bind_router
from openclaw.ipc.version import IPC_VERSION

log = get_logger("gateway/router")
DEFAULT_CALL_TIMEOUT_S = 10.0
WORKER_SILENT_AFTER_S = 3.0


@dataclass
class WorkerEntry:
    name: str
    pid: int = 0
    methods: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    last_seen: float = 0.0
    registered: bool = False
    fragment: bytes = b"{}"

    def alive(self, now: float) -> bool:
        return self.registered and now - self.last_seen <= WORKER_SILENT_AFTER_S


@dataclass
class PendingCall:
    worker: str
    method: str
    future: asyncio.Future[envelope.Reply]
    timer: asyncio.TimerHandle


class WorkerRouter:
    def __init__(
        self,
        ctx: zmq.asyncio.Context,
        url: str,
        expected: list[str],
        on_change: Callable[[], None],
        on_push: Callable[[envelope.Push], None],
    ) -> None:
        self.sock = bind_router(ctx, url)
        self.workers: dict[str, WorkerEntry] = {name: WorkerEntry(name) for name in expected}
        self.routes: dict[str, str] = {}
        self.pending: dict[int, PendingCall] = {}
        self.next_id = 1
        self.on_change = on_change
        self.on_push = on_push
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._recv_loop(), name="router-recv")
        self._watch = loop.create_task(self._watch_liveness(), name="router-liveness")

    async def _watch_liveness(self) -> None:
        """A worker that falls silent (or comes back) changes health and readiness."""
        previous: list[str] = []
        while True:
            await asyncio.sleep(0.5)
            now = self.not_ready()
            if now != previous:
                previous = now
                self.on_change()

    def close(self) -> None:
        if self._task:
            self._task.cancel()
            self._watch.cancel()
        for call_id in list(self.pending):
            self._fail(call_id, unavailable("gateway stopping", retry_after_ms=1500))
        self.sock.close(linger=0)

    # ------------------------------------------------------------------ queries

    def route_for(self, method: str) -> str | None:
        return self.routes.get(method)

    def all_registered(self) -> bool:
        return all(w.registered for w in self.workers.values())

    def not_ready(self) -> list[str]:
        now = time.monotonic()
        return [name for name, w in self.workers.items() if not w.alive(now)]

    def methods(self) -> list[str]:
        return list(self.routes)

    def events(self) -> list[str]:
        out: list[str] = []
        for w in self.workers.values():
            out.extend(e for e in w.events if e not in out)
        return out

    # ------------------------------------------------------------------ calls

    async def call(
        self, worker: str, method: str, params: bytes, caller: envelope.CallerInfo, timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    ) -> envelope.Reply:
        entry = self.workers.get(worker)
        if entry is None or not entry.registered:
            raise unavailable(f"{worker} worker is not available; retry shortly", details={"worker": worker})
        call_id = self.next_id
        self.next_id += 1
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout_s
        msg = envelope.Call(call_id=call_id, method=method, params=params, deadline=deadline, caller=caller)
        try:
            self.sock.send_multipart([worker.encode(), envelope.encode(msg)], flags=zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            raise unavailable(
                f"{worker} worker is not reachable; retry shortly", details={"worker": worker, "reason": str(exc)}
            ) from None
        fut: asyncio.Future[envelope.Reply] = loop.create_future()
        timer = loop.call_later(
            timeout_s,
            self._fail,
            call_id,
            unavailable(
                f"{method} timed out after {int(timeout_s * 1000)}ms waiting for the {worker} worker",
                details={"worker": worker, "reason": "deadline"},
            ),
        )
        self.pending[call_id] = PendingCall(worker, method, fut, timer)
        return await fut

    def _fail(self, call_id: int, error: GatewayError) -> None:
        pending = self.pending.pop(call_id, None)
        if pending is None:
            return
        pending.timer.cancel()
        if not pending.future.done():
            pending.future.set_exception(error)

    def worker_lost(self, name: str) -> None:
        """The supervisor saw the worker die: fail its in-flight calls now (retryable)."""
        entry = self.workers.get(name)
        if entry is not None:
            entry.registered = False
        for call_id, p in list(self.pending.items()):
            if p.worker == name:
                self._fail(
                    call_id,
                    unavailable(
                        f"{name} worker exited while handling {p.method}; retry",
                        details={"worker": name, "reason": "worker_lost"},
                    ),
                )
        self.on_change()

    # ------------------------------------------------------------------ inbound

    async def _recv_loop(self) -> None:
        while True:
            try:
                frames = await self.sock.recv_multipart()
            except (zmq.ZMQError, asyncio.CancelledError):
                return
            if len(frames) != 2:
                log.warn("dropped malformed worker message", frames=len(frames))
                continue
            identity, body = frames
            try:
                msg = envelope.frontend_decoder.decode(body)
            except msgspec.DecodeError as exc:
                log.warn("dropped undecodable worker message", peer=identity.decode(errors="replace"), error=str(exc))
                continue
            self._handle(identity, msg)

    def _handle(self, identity: bytes, msg: envelope.WorkerToFrontend) -> None:
        name = identity.decode(errors="replace")
        entry = self.workers.get(name)
        if entry is None:
            log.warn("message from an unexpected worker", worker=name)
            return
        entry.last_seen = time.monotonic()
        match msg:
            case envelope.Reply():
                pending = self.pending.pop(msg.call_id, None)
                if pending is not None:
                    pending.timer.cancel()
                    if not pending.future.done():
                        pending.future.set_result(msg)
            case envelope.Heartbeat():
                if not entry.registered:
                    self._send(name, envelope.Reregister())
            case envelope.Register():
                self._register(entry, msg)
            case envelope.HealthFragment():
                entry.fragment = msg.data
                self.on_change()
            case envelope.Push():
                self.on_push(msg)

    def _register(self, entry: WorkerEntry, msg: envelope.Register) -> None:
        if msg.ipc_version != IPC_VERSION:
            log.error("worker speaks another IPC version", worker=entry.name, theirs=msg.ipc_version, ours=IPC_VERSION)
            return
        for method in entry.methods:
            if self.routes.get(method) == entry.name and method not in msg.methods:
                del self.routes[method]
        for method in msg.methods:
            owner = self.routes.get(method)
            if owner is not None and owner != entry.name:
                log.error("two workers claim one method; keeping the first", method=method, first=owner, second=entry.name)
                continue
            self.routes[method] = entry.name
        entry.pid, entry.methods, entry.events, entry.registered = msg.pid, msg.methods, msg.events, True
        log.info("worker registered", worker=entry.name, pid=msg.pid, methods=len(msg.methods))
        self.on_change()

    def _send(self, name: str, msg: envelope.FrontendToWorker) -> None:
        try:
            self.sock.send_multipart([name.encode(), envelope.encode(msg)], flags=zmq.NOBLOCK)
        except zmq.ZMQError:
            pass
