"""Front-end <-> worker messages on the workers ROUTER/DEALER socket (msgpack).

The front-end binds a ROUTER at `<runtime>/workers.sock`; each worker connects a
DEALER whose routing identity is its name. JSON payloads cross as opaque bytes
so the front-end can splice a worker's answer straight into the client's frame.
"""

from __future__ import annotations

import msgspec


class ErrorBody(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    details: bytes | None = None  # JSON
    retryable: bool | None = None
    retryAfterMs: int | None = None


# ------------------------------------------------------------ worker -> front-end


class Register(msgspec.Struct, tag="register"):
    worker: str
    pid: int
    methods: list[str]
    events: list[str]
    ipc_version: int


class Heartbeat(msgspec.Struct, tag="heartbeat"):
    worker: str


class HealthFragment(msgspec.Struct, tag="health-fragment"):
    """A JSON object (bytes) merged into the gateway health snapshot."""

    worker: str
    data: bytes


class Reply(msgspec.Struct, tag="reply"):
    call_id: int
    ok: bool
    payload: bytes = b"null"  # JSON
    error: ErrorBody | None = None


class Push(msgspec.Struct, tag="push"):
    """An event the worker wants broadcast to authorized connections."""

    event: str
    payload: bytes  # JSON


WorkerToFrontend = Register | Heartbeat | HealthFragment | Reply | Push

# ------------------------------------------------------------ front-end -> worker


class CallerInfo(msgspec.Struct):
    conn_id: str
    client_id: str
    client_mode: str
    role: str
    scopes: list[str]


class Call(msgspec.Struct, tag="call"):
    call_id: int
    method: str
    params: bytes  # JSON, b"" when the request had no params
    deadline: float  # time.monotonic() of the front-end host (CLOCK_MONOTONIC is system-wide)
    caller: CallerInfo


class Reregister(msgspec.Struct, tag="reregister"):
    """The front-end does not know this worker (it restarted): send Register again."""


FrontendToWorker = Call | Reregister

_encoder = msgspec.msgpack.Encoder()
encode = _encoder.encode
frontend_decoder = msgspec.msgpack.Decoder(WorkerToFrontend)
worker_decoder = msgspec.msgpack.Decoder(FrontendToWorker)
