"""The loop every worker runs: connect, register its methods, answer calls, heartbeat, drain.

    supervisor: Configure -> worker.start() -> front-end: Register / Registered -> supervisor: Ready
    SIGTERM (stop/restart): take no new calls, finish the ones in hand (bounded), exit 0
    Drain (blue/green replacement): Retiring / RetireAck with the front-end, finish, exit 0
    supervisor gone (orphaned): exit at once

A worker kind subclasses `Worker`, lists its handlers in `methods`, and may publish a health
fragment (merged into the gateway's `health`) and push events. A handler returns its result
or an awaitable of it; raise GatewayError for the caller's mistakes.

A handler marked `@two_phase` gets a third argument, its `CallHandle`: `handle.interim(payload,
hold_s)` answers the client at once (an `agent` run's `accepted`) and keeps the call open for
`hold_s` seconds; the handler's return value (or GatewayError) is then the final answer.
`publish(topic, conn_id, event, payload)` sends an event to a topic's subscribers and one
connection (a run's watchers); `subscribe(conn_id, topic)` adds a connection to a topic.
"""

from __future__ import annotations

import asyncio
import faulthandler
import inspect
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import msgspec
import setproctitle
import zmq

from openclaw.ipc import control, envelope, logs
from openclaw.ipc.child_link import SupervisorLink, install_stop_signals
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.errors import DECODE_ERRORS, ConfigRefusal, ErrorCode, GatewayError, internal_error, unavailable
from openclaw.ipc.faults import Faults, faults_for
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import MAX_MESSAGE_BYTES, Endpoint, connect_dealer, endpoint
from openclaw.ipc.version import IPC_VERSION

FRONTEND_HEARTBEAT_S = 0.25
REGISTER_RETRY_S = 1.0
RETIRE_ACK_WAIT_S = 1.0
TERM_DRAIN_S = 1.0
CLOSE_LINGER_MS = 300
MAX_RESULT_BYTES = MAX_MESSAGE_BYTES - 65536  # room for the envelope around it

Handler = Callable[..., Any]  # (params, caller) or, marked @two_phase, (params, caller, handle)
GATEWAY_CALLER = envelope.CallerInfo("", "gateway", "gateway", "gateway", [])
_json = msgspec.json.Encoder()


class FinalError(GatewayError):
    """A failed final answer that still carries a payload: a run that ended in error answers
    `{"ok":false,"payload":{"runId","status":"error","summary"},"error":{…}}` (upstream's shape)."""

    def __init__(self, payload: Any, code: ErrorCode, message: str, **kw: Any) -> None:
        super().__init__(code, message, **kw)
        self.payload = payload


def two_phase(handler: Handler) -> Handler:
    """Mark a handler that answers twice: an interim res now (handle.interim), the final one later."""
    handler.two_phase = True  # type: ignore[attr-defined]
    return handler


class CallHandle:
    """One routed call of a @two_phase handler: its id and the interim answer."""

    __slots__ = ("_send", "call_id", "interim_sent")

    def __init__(self, call_id: int, send: Callable[[envelope.WorkerToFrontend], None]) -> None:
        self.call_id = call_id
        self._send = send
        self.interim_sent = False

    def interim(self, payload: Any, hold_s: float) -> None:
        """Answer the client now with `payload`; the call stays open for `hold_s` seconds."""
        if self.interim_sent:
            return
        self.interim_sent = True
        self._send(envelope.Reply(call_id=self.call_id, ok=True, payload=_json.encode(payload), interim=True, hold_s=hold_s))


class Worker:
    """Subclass per kind: set `kind`, fill `methods`, override the hooks that matter."""

    kind = "worker"
    events: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: control.Configure) -> None:
        self.gateway: ResolvedGateway = cfg.gateway
        self.config: dict[str, Any] = msgspec.json.decode(cfg.config) if cfg.config else {}
        self.log = get_logger(f"worker/{self.kind}")
        self.methods: dict[str, Handler] = {}
        self.topics: dict[str, Callable[[dict[str, Any]], Any]] = {}  # the front-end's Ask topics
        self.publish_health: Callable[[], None] = lambda: None
        self.push: Callable[[str, Any], None] = lambda event, payload: None
        self.deliver: Callable[[str, str, Any], None] = lambda conn_id, event, payload: None
        self.disconnect: Callable[[str, int, str], None] = lambda conn_id, code, reason: None
        self.publish: Callable[[str, str, str, Any], None] = lambda topic, conn_id, event, payload: None
        self.subscribe: Callable[[str, str, bool], None] = lambda conn_id, topic, on=True: None
        self.request: Callable[..., asyncio.Future[envelope.Response]] = _no_front_end
        self.fatal: Callable[[str], None] = lambda reason: None  # unusable as configured: exit 78 (FATAL)
        self.crash: Callable[[str], None] = lambda reason: None  # broken: exit 1 (restarted with backoff)

    def title(self) -> str:
        return f"openclaw-gateway: worker {self.kind}"

    def health_fragment(self) -> dict[str, Any]:
        return {}

    async def start(self) -> None:
        """Open what the worker needs before it reports Ready (raise ConfigRefusal to refuse)."""

    async def stop(self) -> None:
        """Release resources on the way out."""

    def apply_config(self, config: dict[str, Any], paths: list[str]) -> None:
        """A hot change of a section this worker reads."""
        self.config = config

    def begin_stop(self) -> None:
        """Stopping starts (before the in-flight calls are waited for): end long work now (runs)."""


def _no_front_end(*_args: Any, **_kw: Any) -> asyncio.Future[envelope.Response]:
    raise unavailable("the worker is not connected to the front-end yet", retry_after_ms=500)


def decode_params(raw: bytes, method: str) -> dict[str, Any]:
    """Params are an object or absent; anything else is the caller's error."""
    if not raw:
        return {}
    try:
        value = msgspec.json.decode(raw)
    except DECODE_ERRORS as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
        raise GatewayError(ErrorCode.INVALID_REQUEST, f"invalid {method} params: {why}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GatewayError(ErrorCode.INVALID_REQUEST, f"invalid {method} params: must be object")
    return value


class WorkerRuntime:
    def __init__(self, factory: Callable[[control.Configure], Worker]) -> None:
        self.factory = factory
        self.inflight: set[asyncio.Task[None]] = set()
        self.stop = asyncio.Event()
        self.retire: control.Drain | None = None
        self.closing = False
        self.registered = asyncio.Event()
        self.retire_acked = asyncio.Event()
        self.requests: dict[int, tuple[asyncio.Future[envelope.Response], Callable[[envelope.Response], None] | None]] = {}
        self._next_request = 1
        self.exit_code = 0

    async def run(self) -> int:
        name = os.environ.get("OPENCLAW_CHILD_NAME", "worker")
        self.faults: Faults | None = faults_for(name)
        if self.faults is not None:
            self.faults.on_start()
        loop = asyncio.get_running_loop()
        install_stop_signals(loop, self.stop.set, self.faults)
        log = get_logger(f"worker/{name}")
        ctx = zmq.Context()
        link = SupervisorLink(ctx, log)
        link.on(control.Drain, self._on_drain)
        link.on(control.ApplyConfig, self._on_apply)
        link.on_orphaned = self.stop.set
        cfg = await link.hello(self.stop)
        if cfg is None:
            link.close()
            ctx.term()
            return 0
        g = cfg.gateway
        logs.configure_gateway(g, f"worker-{name}")
        link.start_heartbeat()
        try:
            self.worker = self.factory(cfg)
            setproctitle.setproctitle(self.worker.title())
            await self.worker.start()
        except ConfigRefusal as exc:
            return await self._boot_failed(link, ctx, str(exc), 78)
        except Exception as exc:
            return await self._boot_failed(link, ctx, f"{type(exc).__name__}: {exc}", 1)
        self.worker.publish_health = self._publish_health
        self.worker.push = self._push
        self.worker.deliver = lambda conn_id, event, payload: self._send(envelope.Deliver(conn_id, event, _json.encode(payload)))
        self.worker.disconnect = lambda conn_id, code, reason: self._send(envelope.Disconnect(conn_id, code, reason))
        self.worker.publish = lambda topic, conn_id, event, payload: self._send(
            envelope.Publish(topic, conn_id, event, payload if isinstance(payload, bytes) else _json.encode(payload))
        )
        self.worker.subscribe = lambda conn_id, topic, on=True: self._send(envelope.Subscribe(conn_id, topic, on))
        self.worker.request = self._request
        self.worker.fatal = lambda reason: self._exit(link, reason, 78)
        self.worker.crash = lambda reason: self._exit(link, reason, 1)
        sock = connect_dealer(ctx, endpoint(cfg.runtime_dir, "workers.sock"), link.instance)
        self.endpoint: Endpoint[envelope.FrontendToWorker] = Endpoint(sock, envelope.worker_decoder, self._on_message, log)
        self.endpoint.start()
        self.instance = link.instance
        self._beat_body = envelope.encode(envelope.Heartbeat(self.instance))
        if not await self._register_until_acked():
            return self._close(link, ctx)
        self._beat()
        if self.faults is not None and self.faults.slow_ready_ms:
            await asyncio.sleep(self.faults.slow_ready_ms / 1000)
        link.ready()
        self.worker.log.info("worker ready", pid=os.getpid(), instance=self.instance, methods=sorted(self.worker.methods))
        await self.stop.wait()
        if link.orphaned:
            return self._close(link, ctx)  # nobody to finish for
        await self._drain()
        self._fail_requests("worker stopping")
        await self.worker.stop()
        return self._close(link, ctx, self.exit_code)

    async def _boot_failed(self, link: SupervisorLink, ctx: zmq.Context, reason: str, code: int) -> int:
        sys.stderr.write(f"openclaw {link.instance}: cannot start: {reason}\n")
        link.boot_failed(reason, code)
        await asyncio.sleep(0.05)  # let the message leave
        return self._close(link, ctx, code)

    def _close(self, link: SupervisorLink, ctx: zmq.Context, code: int = 0) -> int:
        if hasattr(self, "endpoint"):
            pending = getattr(self, "answers_pending", False) and not link.orphaned
            self.endpoint.close(linger_ms=CLOSE_LINGER_MS if pending else 0)  # the last answers leave
        link.close()
        ctx.term()
        return code

    async def _register_until_acked(self) -> bool:
        """Register until the front-end confirms (it may be restarting); False if told to stop."""
        stopping = asyncio.get_running_loop().create_task(self.stop.wait())
        try:
            while not self.stop.is_set():
                self._register()
                acked = asyncio.get_running_loop().create_task(self.registered.wait())
                done, _ = await asyncio.wait({acked, stopping}, timeout=REGISTER_RETRY_S, return_when=asyncio.FIRST_COMPLETED)
                acked.cancel()
                if self.registered.is_set():
                    return True
            return False
        finally:
            stopping.cancel()

    async def _drain(self) -> None:
        if self.retire is not None:  # replaced: make sure the front-end sends nothing more
            self.endpoint.send(envelope.encode(envelope.Retiring(self.instance)))
            try:
                await asyncio.wait_for(self.retire_acked.wait(), RETIRE_ACK_WAIT_S)
            except asyncio.TimeoutError:
                pass
            budget = max(0.5, self.retire.deadline_ms / 1000 - RETIRE_ACK_WAIT_S)
        else:
            budget = TERM_DRAIN_S
        self.closing = True
        self.answers_pending = bool(self.inflight)  # then their answers get a moment to leave at close
        if self.retire is None:
            self.worker.begin_stop()  # a replaced worker finishes its runs; a stopped one ends them
        self.worker.log.info("worker draining", inflight=len(self.inflight), retiring=self.retire is not None)
        if self.inflight:
            await asyncio.wait(self.inflight, timeout=budget)

    def _exit(self, link: SupervisorLink, reason: str, code: int) -> None:
        """78: the worker cannot work as configured (a refused credential): the supervisor marks it FATAL
        with this reason and retries it only after a config change. 1: it broke; restarted with backoff."""
        if self.exit_code:
            return
        self.worker.log.error("worker exiting", reason=reason, exit=code)
        link.boot_failed(reason, code)
        self.exit_code = code
        self.stop.set()

    # ------------------------------------------------------------------ the worker's own requests

    def _request(
        self, method: str, params: Any, timeout_s: float = 10.0,
        on_interim: Callable[[envelope.Response], None] | None = None,
    ) -> asyncio.Future[envelope.Response]:
        """Call a gateway method through the front-end; the future holds the final Response (ok or not).
        It fails (GatewayError UNAVAILABLE) when the front-end restarts or the worker stops first."""
        req_id = self._next_request
        self._next_request += 1
        fut: asyncio.Future[envelope.Response] = asyncio.get_running_loop().create_future()
        body = params if isinstance(params, bytes) else _json.encode(params)
        if self.closing or not self.endpoint.send(envelope.encode(envelope.Request(
            req_id=req_id, method=method, params=body, timeout_s=timeout_s,
        ))):
            fut.set_exception(unavailable("the front-end is not reachable; retry shortly", retry_after_ms=500))
            return fut
        self.requests[req_id] = (fut, on_interim)
        fut.add_done_callback(lambda _f: self.requests.pop(req_id, None))
        return fut

    def _on_response(self, msg: envelope.Response) -> None:
        entry = self.requests.get(msg.req_id)
        if entry is None:
            return
        fut, on_interim = entry
        if msg.interim:
            if on_interim is not None:
                on_interim(msg)
            return
        if not fut.done():
            fut.set_result(msg)

    def _fail_requests(self, why: str) -> None:
        for fut, _ in list(self.requests.values()):
            if not fut.done():
                fut.set_exception(unavailable(f"request lost: {why}; retry", retry_after_ms=500))
        self.requests.clear()

    # ------------------------------------------------------------------ supervisor messages

    def _on_drain(self, msg: control.Drain) -> None:
        self.retire = msg
        self.stop.set()

    def _on_apply(self, msg: control.ApplyConfig) -> None:
        g = msg.gateway
        logs.configure_gateway(g, f"worker-{os.environ.get('OPENCLAW_CHILD_NAME', 'worker')}")
        self.worker.gateway = g
        self.worker.apply_config(msgspec.json.decode(msg.config) if msg.config else {}, msg.paths)
        self._publish_health()

    # ------------------------------------------------------------------ front-end messages

    def _send(self, msg: envelope.WorkerToFrontend) -> None:
        self.endpoint.send(envelope.encode(msg))  # False: no front-end now; Register goes again when it asks

    def _register(self) -> None:
        w = self.worker
        self._send(
            envelope.Register(
                slot=os.environ.get("OPENCLAW_CHILD_NAME", w.kind), instance=self.instance, pid=os.getpid(),
                methods=sorted(w.methods), events=list(w.events), ipc_version=IPC_VERSION, topics=sorted(w.topics),
            )
        )
        self._publish_health()

    def _publish_health(self) -> None:
        self._send(envelope.HealthFragment(self.instance, _json.encode(self.worker.health_fragment())))

    def _push(self, event: str, payload: Any) -> None:
        self._send(envelope.Push(event, _json.encode(payload)))

    def _beat(self) -> None:
        self.endpoint.send(self._beat_body)
        asyncio.get_running_loop().call_later(FRONTEND_HEARTBEAT_S, self._beat)

    def _on_message(self, _identity: bytes | None, msg: envelope.FrontendToWorker) -> None:
        if type(msg) is envelope.Call:
            self._on_call(msg)
        elif type(msg) is envelope.Ask:
            self._on_ask(msg)
        elif type(msg) is envelope.Response:
            self._on_response(msg)
        elif isinstance(msg, envelope.Registered):
            self.registered.set()
        elif isinstance(msg, envelope.Reregister):
            self._fail_requests("the front-end restarted")  # its table of our requests is gone
            self._register()
        elif isinstance(msg, envelope.RetireAck):
            self.retire_acked.set()

    def _on_call(self, call: envelope.Call) -> None:
        if self.faults is not None:
            self.faults.on_request()
        if time.monotonic() > call.deadline:
            return  # the front-end has already answered the client
        if self.closing:
            self._reply_error(call, unavailable("worker stopping; retry", retry_after_ms=500).shape())
            return
        handler = self.worker.methods.get(call.method)
        if handler is None:
            self._reply_error(call, GatewayError(ErrorCode.INVALID_REQUEST, f"unknown method: {call.method}").shape())
            return
        if getattr(handler, "two_phase", False):
            handle = CallHandle(call.call_id, self._send)
            self._run(call, lambda: handler(decode_params(call.params, call.method), call.caller, handle))
            return
        self._run(call, lambda: handler(decode_params(call.params, call.method), call.caller))

    def _on_ask(self, ask: envelope.Ask) -> None:
        """The front-end's own question: same answer path as a call, its caller is the gateway."""
        handler = self.worker.topics.get(ask.topic)
        call = envelope.Call(ask.call_id, ask.topic, ask.params, ask.deadline, GATEWAY_CALLER)
        if handler is None:
            self._reply_error(call, GatewayError(ErrorCode.INVALID_REQUEST, f"unknown topic: {ask.topic}").shape())
            return
        self._run(call, lambda: handler(decode_params(ask.params, ask.topic)))

    def _run(self, call: envelope.Call, invoke: Callable[[], Any]) -> None:
        try:
            result = invoke()
        except GatewayError as exc:
            self._reply_error(call, exc.shape())
            return
        except Exception as exc:  # a handler bug must not kill the worker
            self.worker.log.error("handler failed", method=call.method, error=repr(exc))
            self._reply_error(call, internal_error(call.method))
            return
        if inspect.isawaitable(result):
            task = asyncio.get_running_loop().create_task(self._finish(call, result))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        else:
            self._reply_ok(call, result)

    async def _finish(self, call: envelope.Call, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except FinalError as exc:
            self._send(envelope.Reply(call_id=call.call_id, ok=False, payload=_json.encode(exc.payload), error=exc.shape()))
            return
        except GatewayError as exc:
            self._reply_error(call, exc.shape())
            return
        except Exception as exc:
            self.worker.log.error("handler failed", method=call.method, error=repr(exc))
            self._reply_error(call, internal_error(call.method))
            return
        self._reply_ok(call, result)

    def _reply_ok(self, call: envelope.Call, result: Any) -> None:
        try:
            payload = _json.encode(result)
        except (TypeError, ValueError, OverflowError) as exc:  # a handler returned something that is not JSON
            self.worker.log.error("handler result is not JSON", method=call.method, error=repr(exc)[:200])
            self._reply_error(call, internal_error(call.method))
            return
        if len(payload) > MAX_RESULT_BYTES:  # the front-end could not take it: say so instead of losing it
            self._reply_error(call, unavailable(
                f"{call.method} result too large ({len(payload)} bytes, max {MAX_RESULT_BYTES})",
                details={"reason": "result-too-large"},
            ).shape())
            return
        self._send(envelope.Reply(call_id=call.call_id, ok=True, payload=payload))

    def _reply_error(self, call: envelope.Call, error: Any) -> None:
        self._send(envelope.Reply(call_id=call.call_id, ok=False, error=error))


def run_worker(factory: Callable[[control.Configure], Worker]) -> None:
    faulthandler.enable()
    try:
        import uvloop

        code = uvloop.run(WorkerRuntime(factory).run())
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
