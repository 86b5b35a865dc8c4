"""The loop every worker runs: connect, register its methods, heartbeat, answer calls, drain on TERM.

A worker kind subclasses `Worker`, lists its handlers in `methods`, and may
publish a health fragment (merged into the gateway's `health`) and push events.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import setproctitle
import zmq
import zmq.asyncio

from openclaw.ipc import envelope, logs
from openclaw.ipc.child_link import SupervisorLink
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.errors import ErrorCode, GatewayError
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import connect_dealer, endpoint
from openclaw.ipc.version import IPC_VERSION

FRONTEND_HEARTBEAT_S = 0.5
DRAIN_S = 2.0

Handler = Callable[[Any, envelope.CallerInfo], Awaitable[Any]]
_json = msgspec.json.Encoder()


class Worker:
    """Subclass per kind: set `name`, fill `methods`, override `health_fragment` if useful."""

    name = "worker"
    events: list[str] = []

    def __init__(self, gateway: ResolvedGateway) -> None:
        self.gateway = gateway
        self.log = get_logger(f"worker/{self.name}")
        self.methods: dict[str, Handler] = {}
        self.publish_health: Callable[[], None] = lambda: None
        self.push: Callable[[str, Any], None] = lambda event, payload: None

    def health_fragment(self) -> dict[str, Any]:
        return {}

    async def start(self) -> None:
        """Open what the worker needs before it reports Ready."""

    async def stop(self) -> None:
        """Release resources on drain."""


def decode_params(raw: bytes, method: str) -> dict[str, Any]:
    """Params are an object or absent; anything else is the caller's error."""
    if not raw:
        return {}
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise GatewayError(ErrorCode.INVALID_REQUEST, f"invalid {method} params: not JSON") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GatewayError(ErrorCode.INVALID_REQUEST, f"invalid {method} params: must be object")
    return value


class WorkerRuntime:
    def __init__(self, factory: Callable[[ResolvedGateway], Worker]) -> None:
        self.factory = factory
        self.inflight: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGUSR1, lambda: None)  # restarts are the supervisor's job
        ctx = zmq.asyncio.Context()
        link = SupervisorLink(ctx)
        setproctitle.setproctitle(f"openclaw-gateway: worker {link.name}")
        cfg = await link.hello()
        logs.configure(cfg.gateway.log_file, f"worker-{link.name}", verbose=cfg.gateway.verbose)
        self.worker = self.factory(cfg.gateway)
        self.worker.publish_health = self._publish_health
        self.worker.push = self._push
        self.sock = connect_dealer(ctx, endpoint(cfg.runtime_dir, "workers.sock"), link.name)
        link.start()
        await self.worker.start()
        self._register()
        link.ready()
        self.worker.log.info("worker ready", pid=os.getpid(), methods=sorted(self.worker.methods))
        tasks = [
            loop.create_task(self._recv_loop(), name="worker-recv"),
            loop.create_task(self._heartbeat(), name="worker-heartbeat"),
        ]
        await self.stopping.wait()
        self.worker.log.info("worker draining", inflight=len(self.inflight))
        tasks[0].cancel()
        if self.inflight:
            await asyncio.wait(self.inflight, timeout=DRAIN_S)
        tasks[1].cancel()
        await self.worker.stop()
        link.close()
        self.sock.close(linger=0)
        ctx.term()
        return 0

    def _send(self, msg: envelope.WorkerToFrontend) -> None:
        try:
            self.sock.send(envelope.encode(msg), flags=zmq.NOBLOCK)
        except zmq.ZMQError:
            pass  # no front-end right now; Register goes again when it asks

    def _register(self) -> None:
        w = self.worker
        self._send(envelope.Register(worker=w.name, pid=os.getpid(), methods=sorted(w.methods), events=w.events, ipc_version=IPC_VERSION))
        self._publish_health()

    def _publish_health(self) -> None:
        self._send(envelope.HealthFragment(worker=self.worker.name, data=_json.encode(self.worker.health_fragment())))

    def _push(self, event: str, payload: Any) -> None:
        self._send(envelope.Push(event=event, payload=_json.encode(payload)))

    async def _heartbeat(self) -> None:
        beat = envelope.Heartbeat(worker=self.worker.name)
        while True:
            self._send(beat)
            await asyncio.sleep(FRONTEND_HEARTBEAT_S)

    async def _recv_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            body = await self.sock.recv()
            try:
                msg = envelope.worker_decoder.decode(body)
            except msgspec.DecodeError as exc:
                self.worker.log.warn("dropped undecodable message from the front-end", error=str(exc))
                continue
            if isinstance(msg, envelope.Reregister):
                self._register()
                continue
            task = loop.create_task(self._answer(msg))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    async def _answer(self, call: envelope.Call) -> None:
        if time.monotonic() > call.deadline:
            return  # the front-end has already answered the client
        handler = self.worker.methods.get(call.method)
        if handler is None:
            reply = envelope.Reply(
                call_id=call.call_id, ok=False,
                error=envelope.ErrorBody(code=ErrorCode.INVALID_REQUEST.value, message=f"unknown method: {call.method}"),
            )
        else:
            try:
                params = decode_params(call.params, call.method)
                result = await handler(params, call.caller)
                reply = envelope.Reply(call_id=call.call_id, ok=True, payload=_json.encode(result))
            except GatewayError as exc:
                wire = exc.to_wire()
                reply = envelope.Reply(
                    call_id=call.call_id, ok=False,
                    error=envelope.ErrorBody(
                        code=wire["code"], message=wire["message"],
                        details=_json.encode(wire["details"]) if "details" in wire else None,
                        retryable=wire.get("retryable"), retryAfterMs=wire.get("retryAfterMs"),
                    ),
                )
            except Exception as exc:  # a handler bug must not kill the worker
                self.worker.log.error("handler failed", method=call.method, error=repr(exc))
                reply = envelope.Reply(
                    call_id=call.call_id, ok=False,
                    error=envelope.ErrorBody(code=ErrorCode.UNAVAILABLE.value, message=f"{call.method} failed: internal error", retryable=True, retryAfterMs=1000),
                )
        self._send(reply)


def run_worker(factory: Callable[[ResolvedGateway], Worker]) -> None:
    try:
        import uvloop

        code = uvloop.run(WorkerRuntime(factory).run())
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
