"""Hypothesis strategies for malformed multipart messages on the internal ZeroMQ plane.

A message is a list of frames; a frame is one of: garbage bytes, valid msgpack of any shape,
a map or array carrying a real tag of either plane with fields of the wrong kind, a real
message of either plane with arbitrary field values (real pids among them).
Frame counts vary from 1 to 4, sometimes behind an empty REQ-style delimiter.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import msgspec
from hypothesis import strategies as st

from openclaw.ipc import control, envelope
from openclaw.ipc.transport import MAX_MESSAGE_BYTES

UNIONS = (control.ChildToSupervisor, control.SupervisorToChild, envelope.WorkerToFrontend, envelope.FrontendToWorker)
MESSAGE_TYPES: list[type[msgspec.Struct]] = [cls for u in UNIONS for cls in typing.get_args(u)]
TAGS = sorted({str(cls.__struct_config__.tag) for cls in MESSAGE_TYPES})
FIELDS = sorted({f.name for cls in MESSAGE_TYPES for f in msgspec.structs.fields(cls)})
OVERSIZE = MAX_MESSAGE_BYTES + 1
NAMES = [  # strings the plane gives meaning to: instances, slots, config write modes, methods
    "agent.1", "frontend.1", "node.1", "agent", "node", "apply", "patch",
    "sessions.list", "last-heartbeat", "doctor.memory.status", "node.list", "node.describe", "device.pair.list",
]


INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what msgpack can carry
scalars = st.one_of(
    st.none(), st.booleans(), INTS, st.floats(),
    st.text(max_size=20), st.binary(max_size=20),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=6,
)


def for_type(tp: Any, pids: list[int]) -> st.SearchStrategy[Any]:
    """Any value of `tp`, messages and their nested Structs included (pids may be real ones)."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        fields = {f.name: for_type(f.type, pids) for f in msgspec.structs.fields(tp)}
        if "pid" in fields:
            fields["pid"] = st.sampled_from(pids) | st.integers(min_value=-(2**31), max_value=2**31)
        return st.builds(tp, **fields)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_type(a, pids) for a in args])
    if origin is list:
        return st.lists(for_type(args[0], pids), max_size=3)
    if tp is bytes:
        return st.binary(max_size=40) | st.sampled_from([b"{}", b"null", b"[", b'{"a":'])
    if tp is int:
        return INTS
    if tp is str:
        return st.text(max_size=24) | st.sampled_from(NAMES)
    return st.from_type(tp)


def frames(pids: list[int]) -> st.SearchStrategy[list[Any]]:
    body = st.one_of(
        st.binary(max_size=120),
        values.map(msgspec.msgpack.encode),
        st.tuples(st.sampled_from(TAGS), st.dictionaries(st.sampled_from(FIELDS), values, max_size=5)).map(
            lambda t: msgspec.msgpack.encode({"type": t[0], **t[1]})
        ),
        st.tuples(st.sampled_from(TAGS), st.lists(values, max_size=6)).map(lambda t: msgspec.msgpack.encode([t[0], *t[1]])),
        st.one_of([for_type(cls, pids) for cls in MESSAGE_TYPES]).map(msgspec.msgpack.encode),
    )
    single = body.map(lambda b: [b])  # the framing the sockets expect: the body is what is wrong
    message = st.lists(body, min_size=1, max_size=4)
    return st.one_of(single, single, message, message.map(lambda fs: [b"", *fs]))  # also behind a REQ delimiter


def oversize() -> bytes:
    """One frame over the limit (sent a few times per socket, not drawn by Hypothesis)."""
    return b"\0" * OVERSIZE
