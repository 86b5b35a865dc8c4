"""Front-end <-> worker messages on the workers ROUTER/DEALER socket (msgpack, `<runtime>/workers.sock`).

A worker's routing identity is its instance id (`agent.3`); its slot is the child name
(`agent`, `channel:telegram`). Two instances of one slot exist during a blue/green
replacement: the newest registered one takes new calls, the old one finishes its own.

    worker: Register -> front-end: Registered   (only then does the worker tell the supervisor Ready)
    worker: Request  -> front-end: Response*  (a worker's own call of a gateway method)
    worker: Retiring -> front-end: RetireAck    (the pipe is FIFO: every call sent before the ack
                                                 has arrived, so the worker can finish and exit)

Messages are msgpack arrays (tag first): smaller and faster than maps on the hot path.
JSON payloads cross as opaque bytes so the front-end splices a worker's answer straight
into the client's frame; errors cross as the wire `ErrorShape`, converted once.
"""

from __future__ import annotations

import msgspec

from .errors import ErrorShape

# ------------------------------------------------------------ worker -> front-end


class Register(msgspec.Struct, tag="register", kw_only=True, array_like=True):
    slot: str
    instance: str
    pid: int
    methods: list[str]
    events: list[str]
    ipc_version: int
    topics: list[str] = []  # the front-end's Ask topics this worker answers


class Heartbeat(msgspec.Struct, tag="heartbeat", array_like=True):
    """Lets a restarted front-end find out it does not know this worker (then: Reregister)."""

    instance: str


class HealthFragment(msgspec.Struct, tag="health-fragment", array_like=True):
    """A JSON object merged into the gateway health snapshot."""

    instance: str
    data: bytes


class Reply(msgspec.Struct, tag="reply", kw_only=True, array_like=True):
    """The answer to a Call. `interim=True` is the first half of a two-phase answer (an `agent`
    run's `accepted`): the front-end sends it as a res and keeps the call open for `hold_s`
    more seconds, until the final Reply (same call_id) or the worker's loss ends it."""

    call_id: int
    ok: bool
    payload: bytes = b"null"  # JSON
    error: ErrorShape | None = None
    interim: bool = False
    hold_s: float = 0.0


class Push(msgspec.Struct, tag="push", array_like=True):
    """An event the worker wants broadcast to authorized connections."""

    event: str
    payload: bytes  # JSON


class Retiring(msgspec.Struct, tag="retiring", array_like=True):
    instance: str


class Deliver(msgspec.Struct, tag="deliver", array_like=True):
    """An event for one connection only (e.g. `node.invoke.request` to a node); no `seq`, as upstream."""

    conn_id: str
    event: str
    payload: bytes  # JSON


class Disconnect(msgspec.Struct, tag="disconnect", array_like=True):
    """Close one connection (e.g. a removed device: 4001 "device removed")."""

    conn_id: str
    code: int
    reason: str


class Publish(msgspec.Struct, tag="publish", array_like=True):
    """An event of one topic (a session key: its runs' `agent`/`chat` events): to every connection
    subscribed to `topic` and to `conn_id` (the run's requester; "" for none), each with its own
    contiguous `seq`, filtered by the event's scope like a broadcast."""

    topic: str
    conn_id: str
    event: str
    payload: bytes  # JSON


class Subscribe(msgspec.Struct, tag="subscribe", array_like=True):
    """Connection `conn_id` now receives (on=True) or no longer receives the Publish events of
    `topic`. Sent before the Reply of the call that asked, so no event is missed."""

    conn_id: str
    topic: str
    on: bool = True


class Request(msgspec.Struct, tag="request", kw_only=True, array_like=True):
    """A worker's own call of a gateway method (a channel worker starting an `agent` run for an
    inbound message), routed like a client's and answered with Response (interim, then final).
    Only the methods the front-end allows that worker's kind (frontend/worker_requests.py)."""

    req_id: int
    method: str
    params: bytes  # JSON
    timeout_s: float = 10.0


WorkerToFrontend = (
    Register | Heartbeat | HealthFragment | Reply | Push | Retiring | Deliver | Disconnect | Publish | Subscribe
    | Request
)

# ------------------------------------------------------------ front-end -> worker


class CallerInfo(msgspec.Struct, array_like=True):
    conn_id: str
    client_id: str
    client_mode: str
    role: str
    scopes: list[str]
    device_id: str = ""  # the caller's verified device, when it has one


class Call(msgspec.Struct, tag="call", array_like=True):
    call_id: int
    method: str
    params: bytes  # JSON, b"" when the request had no params
    deadline: float  # time.monotonic() of the front-end host (CLOCK_MONOTONIC is system-wide)
    caller: CallerInfo


class Ask(msgspec.Struct, tag="ask", array_like=True):
    """The front-end's own question to a worker (never a client's call): a connect's device
    decision, a node socket opened or closed. Answered with Reply like a Call."""

    call_id: int
    topic: str
    params: bytes  # JSON
    deadline: float


class Registered(msgspec.Struct, tag="registered", array_like=True):
    """The front-end routes this instance's methods to it now."""


class Reregister(msgspec.Struct, tag="reregister", array_like=True):
    """The front-end does not know this instance (the front-end restarted): send Register again."""


class RetireAck(msgspec.Struct, tag="retire-ack", array_like=True):
    """No call will follow; the ones sent before this have all been delivered."""


class Response(msgspec.Struct, tag="response", kw_only=True, array_like=True):
    """The answer to a worker's Request: `interim` for a two-phase method's `accepted`, then the final."""

    req_id: int
    ok: bool
    payload: bytes = b"null"  # JSON
    error: ErrorShape | None = None
    interim: bool = False


FrontendToWorker = Call | Ask | Registered | Reregister | RetireAck | Response

_encoder = msgspec.msgpack.Encoder()
encode = _encoder.encode
frontend_decoder = msgspec.msgpack.Decoder(WorkerToFrontend)
worker_decoder = msgspec.msgpack.Decoder(FrontendToWorker)
