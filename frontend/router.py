"""The front-end's ROUTER to the workers: who serves which method, and every routed call until answered.

Workers declare their methods in Register; that table is the only routing list. Each slot
("agent", "channel:telegram") has one *active* instance taking new calls; during a blue/green
replacement the newest registered instance becomes active and the previous one only finishes
its own calls. A call is a table entry, not a task: the worker's Reply is written straight
to the client's connection, and one sweep every 100 ms fails calls past their deadline.

Two-phase calls (`agent`): an interim Reply is sent to the client at once and the call stays
open for the worker's `hold_s`; if the worker is lost or the hold runs out before the final
Reply, the requester and the run's session watchers get a lifecycle `error` event and the
client a final error res that still names the run (upstream's failed-run shape).
"""

from __future__ import annotations

import asyncio
import heapq
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import zmq
from openclaw.ipc import envelope, frames
from openclaw.ipc.errors import (
    DECODE_ERRORS,
    ErrorShape,
    GatewayError,
    ShapedError,
    unavailable,
)
from openclaw.ipc.logs import get_logger
from openclaw.ipc.proc_identity import is_child_of
from openclaw.ipc.transport import Endpoint, bind_router
from openclaw.ipc.version import IPC_VERSION

from .caller import Connection

log = get_logger("gateway/router")
DEFAULT_CALL_TIMEOUT_S = 10.0
SWEEP_S = 0.1
MAX_INFLIGHT_PER_CONNECTION = 1024
CONNECTION_SLOTS = frozenset({"node"})  # workers that may address one connection (Deliver/Disconnect)
PUBLISH_SLOTS = frozenset({"agent"})  # workers whose events go to a topic's subscribers (Publish/Subscribe)
DIRECT_SLOT_PREFIX = "channel:"  # channel workers are addressed by slot (the front-end picks the account), not by method


@dataclass
class Instance:
    identity: bytes
    slot: str
    pid: int = 0
    methods: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    fragment: bytes = b"{}"
    topics: list[str] = field(default_factory=list)
    registered: bool = False
    retiring: bool = False


class Pending:
    __slots__ = ("conn", "deadline", "identity", "interim", "method", "req_id")

    def __init__(self, conn: Connection, req_id: str | int, identity: bytes, method: str, deadline: float) -> None:
        self.conn, self.req_id, self.identity, self.method, self.deadline = conn, req_id, identity, method, deadline
        self.interim: dict | None = None  # the interim payload of a two-phase call (its runId, sessionKey)


def _lost_error(slot: str, method: str, reason: str) -> ErrorShape:
    return unavailable(
        f"the {slot} worker was lost while handling {method} ({reason}); retry",
        details={"worker": slot, "reason": "worker-lost", "cause": reason},
    ).shape()


class WorkerRouter:
    def __init__(self, ctx: zmq.Context, url: str, supervisor_pid: int) -> None:
        self.supervisor_pid = supervisor_pid
        self.endpoint: Endpoint[envelope.WorkerToFrontend] = Endpoint(
            bind_router(ctx, url), envelope.frontend_decoder, self._on_message, log
        )
        self.instances: dict[bytes, Instance] = {}
        self.active: dict[str, Instance] = {}
        self.slot_methods: dict[str, list[str]] = {}  # what each slot serves, kept while it restarts
        self.routes: dict[str, str] = {}  # method -> slot
        self.pending: dict[int, Pending] = {}
        self.asks: dict[int, tuple[asyncio.Future[bytes], bytes, float]] = {}  # the front-end's own questions
        self.topics: dict[str, str] = {}  # Ask topic -> slot
        self._deadlines: list[tuple[float, int]] = []  # heap; an entry is stale once its call's deadline moved
        self._next_id = 1
        self.on_change: Callable[[], None] = lambda: None  # routes or health fragments changed
        self.on_push: Callable[[str, bytes], None] = lambda event, payload: None
        self.on_publish: Callable[[str, str, str, bytes], None] = lambda topic, conn_id, event, payload: None
        self.on_subscribe: Callable[[str, str, bool], None] = lambda conn_id, topic, on: None
        self.on_deliver: Callable[[str, str, bytes], None] = lambda conn_id, event, payload: None
        self.on_disconnect: Callable[[str, int, str], None] = lambda conn_id, code, reason: None
        self.on_answer: Callable[[Connection, str | int, str, bool], None] | None = None  # --ws-log
        self.on_request: Callable[[bytes, str, envelope.Request], None] = lambda identity, slot, msg: None
        self._sweeper: asyncio.TimerHandle | None = None
        self._reply_ack = envelope.encode(envelope.Registered())

    def start(self) -> None:
        self.endpoint.start()
        self._sweeper = asyncio.get_running_loop().call_later(SWEEP_S, self._sweep)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for call_id in list(self.pending):
            self._fail(call_id, unavailable("gateway stopping", retry_after_ms=1500).shape())
        for call_id in list(self.asks):
            self._fail_ask(call_id, unavailable("gateway stopping", retry_after_ms=1500))
        self.endpoint.close()

    # ------------------------------------------------------------------ queries

    def route_for(self, method: str) -> str | None:
        """The slot serving `method`, also while that slot's process is being replaced (the call then
        gets a retryable UNAVAILABLE instead of "unknown method")."""
        return self.routes.get(method)

    def keep_slots(self, slots: set[str]) -> None:
        """Forget the methods of slots that no longer exist (a removed channel)."""
        gone = [s for s in self.slot_methods if s not in slots and s not in self.active]
        for slot in gone:
            del self.slot_methods[slot]
        if gone:
            self._rebuild_routes()
            self.on_change()

    def methods(self) -> list[str]:
        return list(self.routes)

    def events(self) -> list[str]:
        out: list[str] = []
        for inst in self.active.values():
            out.extend(e for e in inst.events if e not in out)
        return out

    def fragments(self) -> list[tuple[str, bytes]]:
        return [(slot, inst.fragment) for slot, inst in self.active.items()]

    # ------------------------------------------------------------------ calls

    def forward(
        self, conn: Connection, req_id: str | int, slot: str, method: str, params: bytes,
        caller: envelope.CallerInfo, timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
    ) -> None:
        """Send the call; the answer goes to `conn` later. Raises GatewayError when it cannot be sent."""
        inst = self.active.get(slot)
        if inst is None:
            raise unavailable(
                f"the {slot} worker is restarting; retry shortly", retry_after_ms=500,
                details={"worker": slot, "reason": "worker-unavailable"},
            )
        if conn.inflight >= MAX_INFLIGHT_PER_CONNECTION:
            raise unavailable(
                f"too many requests in flight on this connection (max {MAX_INFLIGHT_PER_CONNECTION})",
                retry_after_ms=100, details={"reason": "inflight-limit"},
            )
        call_id = self._next_id
        self._next_id += 1
        deadline = time.monotonic() + timeout_s
        body = envelope.encode(envelope.Call(call_id, method, params, deadline, caller))
        if not self.endpoint.send(body, inst.identity):
            raise unavailable(
                f"the {slot} worker is not reachable; retry shortly", details={"worker": slot, "reason": "worker-unreachable"}
            )
        self.pending[call_id] = Pending(conn, req_id, inst.identity, method, deadline)
        heapq.heappush(self._deadlines, (deadline, call_id))
        conn.inflight += 1

    def is_active(self, slot: str) -> bool:
        return slot in self.active

    def ask(
        self, topic: str, params: bytes, timeout_s: float = DEFAULT_CALL_TIMEOUT_S, slot: str | None = None
    ) -> asyncio.Future[bytes]:
        """Ask the worker serving `topic` (or the given slot); the future holds the JSON answer or a GatewayError."""
        slot = slot or self.topics.get(topic)
        inst = self.active.get(slot) if slot is not None else None
        if inst is None:
            raise unavailable(
                "gateway starting; retry shortly", retry_after_ms=500,
                details={"reason": "worker-unavailable", "worker": slot or "node", "topic": topic},
            )
        call_id = self._next_id
        self._next_id += 1
        deadline = time.monotonic() + timeout_s
        if not self.endpoint.send(envelope.encode(envelope.Ask(call_id, topic, params, deadline)), inst.identity):
            raise unavailable(f"the {slot} worker is not reachable; retry shortly", retry_after_ms=500,
                              details={"worker": slot, "reason": "worker-unreachable"})
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.asks[call_id] = (fut, inst.identity, deadline)
        heapq.heappush(self._deadlines, (deadline, call_id))
        return fut

    def _fail_ask(self, call_id: int, error: GatewayError) -> None:
        entry = self.asks.pop(call_id, None)
        if entry is not None and not entry[0].done():
            entry[0].set_exception(error)

    def _interim(self, call_id: int, payload: bytes, hold_s: float) -> None:
        """First half of a two-phase answer: to the client now; the call stays open `hold_s` more."""
        p = self.pending.get(call_id)
        if p is None:
            return
        try:
            info = msgspec.json.decode(payload)
        except DECODE_ERRORS:
            info = None
        p.interim = info if isinstance(info, dict) else {}
        p.deadline = time.monotonic() + max(1.0, hold_s)
        heapq.heappush(self._deadlines, (p.deadline, call_id))
        p.conn.send_raw(frames.response_ok(p.req_id, payload))

    def _answer(self, call_id: int, ok: bool, payload: bytes, error: ErrorShape | None) -> None:
        p = self.pending.pop(call_id, None)
        if p is None:
            entry = self.asks.pop(call_id, None)
            if entry is not None and not entry[0].done():
                if ok:
                    entry[0].set_result(payload)
                else:
                    e = error or ErrorShape(code="UNAVAILABLE", message="no error given")
                    entry[0].set_exception(ShapedError(e))
            return  # answered already (deadline) or unknown
        conn = p.conn
        conn.inflight -= 1
        if ok:
            conn.send_raw(frames.response_ok(p.req_id, payload))
        else:
            error = error or ErrorShape(code="UNAVAILABLE", message="no error given")
            if p.interim is not None and payload in (b"", b"null"):  # the worker could not finish the run
                payload = self._run_cut_off(p, error)
            conn.send_raw(frames.response_error(p.req_id, error, payload))
        if self.on_answer is not None:
            self.on_answer(conn, p.req_id, p.method, ok)

    def _fail(self, call_id: int, error: ErrorShape) -> None:
        self._answer(call_id, False, b"", error)

    def _run_cut_off(self, p: Pending, error: ErrorShape) -> bytes:
        """A two-phase call ended by the front-end (worker lost, hold expired, gateway stopping): the
        run's watchers get its lifecycle `error` event; returns the final res payload naming the run."""
        info = p.interim or {}
        run_id, session_key = info.get("runId"), info.get("sessionKey")
        now = int(time.time() * 1000)
        event = {
            "runId": run_id, "stream": "lifecycle",
            "data": {"phase": "error", "error": error.message, "endedAt": now, "executionSettled": True},
            "sessionKey": session_key, "agentId": info.get("agentId"), "ts": now,
        }
        self.on_publish(session_key if isinstance(session_key, str) else "", p.conn.conn_id, "agent", msgspec.json.encode(event))
        return msgspec.json.encode({"runId": run_id, "status": "error", "summary": error.message})

    def _sweep(self) -> None:
        now = time.monotonic()
        dl = self._deadlines
        while dl and dl[0][0] <= now:
            due, call_id = heapq.heappop(dl)
            if call_id in self.asks:
                self._fail_ask(call_id, unavailable("timed out waiting for a worker", retry_after_ms=500, details={"reason": "deadline"}))
                continue
            p = self.pending.get(call_id)
            if p is not None and p.deadline <= due:  # else: an interim reply moved it (a newer entry is queued)
                slot = self.instances[p.identity].slot if p.identity in self.instances else "?"
                self._fail(
                    call_id,
                    unavailable(
                        f"{p.method} timed out waiting for the {slot} worker",
                        details={"worker": slot, "reason": "deadline"},
                    ).shape(),
                )
        self._sweeper = asyncio.get_running_loop().call_later(SWEEP_S, self._sweep)

    def lost(self, instance: str, reason: str) -> None:
        """The supervisor saw this instance die or hang: fail its calls now (retryable), route around it."""
        identity = instance.encode()
        inst = self.instances.pop(identity, None)
        slot = inst.slot if inst else instance.rpartition(".")[0]
        for call_id, p in list(self.pending.items()):
            if p.identity == identity:
                self._fail(call_id, _lost_error(slot, p.method, reason))
        for call_id, (_, ident, _) in list(self.asks.items()):
            if ident == identity:
                self._fail_ask(call_id, unavailable(f"the {slot} worker was lost ({reason}); retry", retry_after_ms=500,
                                                    details={"worker": slot, "reason": "worker-lost"}))
        if inst is not None and self.active.get(slot) is inst:
            del self.active[slot]
            self._rebuild_routes()
        if inst is not None:
            log.info("worker instance gone", instance=instance, reason=reason)
            self.on_change()

    # ------------------------------------------------------------------ inbound

    def _on_message(self, identity: bytes | None, msg: envelope.WorkerToFrontend) -> None:
        assert identity is not None
        if type(msg) is envelope.Reply:
            p = self.pending.get(msg.call_id)
            asked = self.asks.get(msg.call_id)
            if (p is not None and p.identity != identity) or (asked is not None and asked[1] != identity):
                self.endpoint.drop(identity, f"reply to call {msg.call_id}, which went to another worker")
                return
            if msg.interim and msg.ok:
                self._interim(msg.call_id, msg.payload, msg.hold_s)
            else:
                self._answer(msg.call_id, msg.ok, msg.payload, msg.error)
            return
        inst = self.instances.get(identity)
        match msg:
            case envelope.Register():
                self._register(identity, msg)
            case envelope.Heartbeat():
                if inst is None or not inst.registered:
                    self.endpoint.send(envelope.encode(envelope.Reregister()), identity)
            case envelope.HealthFragment():
                if inst is not None:
                    inst.fragment = msg.data
                    self.on_change()
            case envelope.Push():
                if inst is not None:
                    self.on_push(msg.event, msg.payload)
            case envelope.Deliver():
                if inst is not None and inst.slot in CONNECTION_SLOTS:
                    self.on_deliver(msg.conn_id, msg.event, msg.payload)
            case envelope.Publish():
                if inst is not None and inst.slot in PUBLISH_SLOTS:
                    self.on_publish(msg.topic, msg.conn_id, msg.event, msg.payload)
            case envelope.Subscribe():
                if inst is not None and inst.slot in PUBLISH_SLOTS:
                    self.on_subscribe(msg.conn_id, msg.topic, msg.on)
            case envelope.Disconnect():
                if inst is not None and inst.slot in CONNECTION_SLOTS:
                    self.on_disconnect(msg.conn_id, msg.code, msg.reason)
            case envelope.Retiring():
                self._retire(identity, inst)
            case envelope.Request():
                if inst is not None and inst.registered:
                    self.on_request(identity, inst.slot, msg)

    def respond(self, identity: bytes, msg: envelope.Response) -> None:
        """An answer to a worker's own Request (dropped if that worker is gone)."""
        if identity in self.instances:
            self.endpoint.send(envelope.encode(msg), identity)

    def _register(self, identity: bytes, msg: envelope.Register) -> None:
        why = self._registration_refusal(identity, msg)
        if why is not None:
            self.endpoint.drop(identity, f"registration refused: {why}")
            return
        inst = self.instances.get(identity) or Instance(identity=identity, slot=msg.slot)
        inst.pid, inst.methods, inst.events, inst.registered = msg.pid, msg.methods, msg.events, True
        inst.topics = msg.topics
        self.instances[identity] = inst
        if not inst.retiring:
            previous = self.active.get(msg.slot)
            self.active[msg.slot] = inst  # the newest instance takes new calls
            self.slot_methods[msg.slot] = msg.methods
            if previous is not None and previous is not inst:
                log.info("worker replaced", slot=msg.slot, old=previous.identity.decode(), new=msg.instance)
        self._rebuild_routes()
        self.endpoint.send(self._reply_ack, identity)
        log.info("worker registered", instance=msg.instance, pid=msg.pid, methods=len(msg.methods))
        self.on_change()

    def _registration_refusal(self, identity: bytes, msg: envelope.Register) -> str | None:
        """A worker registers as itself: its own identity, its own slot, a pid of this gateway no one else has."""
        if msg.ipc_version != IPC_VERSION:
            return f"ipc version {msg.ipc_version}, ours is {IPC_VERSION}"
        if msg.instance.encode() != identity:
            return f"instance {msg.instance[:64]!r} is not the sender"
        if msg.slot != msg.instance.rpartition(".")[0]:
            return f"slot {msg.slot[:64]!r} does not match instance {msg.instance[:64]!r}"
        known = self.instances.get(identity)
        if known is not None and known.registered and known.pid == msg.pid:
            return None  # the same process again (Reregister): checked the first time
        other = next((i for i in self.instances.values() if i.pid == msg.pid and i.identity != identity), None)
        if other is not None:
            return f"pid {msg.pid} is registered as {other.identity[:64].decode(errors='replace')!r}"
        if msg.pid == os.getpid() or not is_child_of(msg.pid, self.supervisor_pid):
            return f"pid {msg.pid} is not a worker of this gateway"
        return None

    def _retire(self, identity: bytes, inst: Instance | None) -> None:
        if inst is not None:
            inst.retiring = True
            if self.active.get(inst.slot) is inst:
                del self.active[inst.slot]
                self._rebuild_routes()
                self.on_change()
        # FIFO pipe: every call sent to this instance before the ack reaches it before the ack
        self.endpoint.send(envelope.encode(envelope.RetireAck()), identity)

    def _rebuild_routes(self) -> None:
        routes: dict[str, str] = {}
        for slot, methods in sorted(self.slot_methods.items()):
            if slot.startswith(DIRECT_SLOT_PREFIX):
                continue
            for method in methods:
                owner = routes.setdefault(method, slot)
                if owner != slot:
                    log.error("two workers claim one method; keeping the first", method=method, first=owner, second=slot)
        self.routes = routes
        topics: dict[str, str] = {}
        for slot, inst in sorted(self.active.items()):
            for topic in inst.topics:
                topics.setdefault(topic, slot)
        self.topics = topics

