"""The frame-header guard on its own: its verdict on a byte stream does not depend on how the
stream is cut into reads (the process tests in tests/process/test_ws_front_door.py cover it
in a real gateway)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw.frontend.ws.wire_guard import FrameHeaderGuard, Refusal

from ..rawws import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, frame


def verdict(stream: bytes, cuts: list[int], limit: int = 1000) -> tuple[int, str] | None:
    guard = FrameHeaderGuard(limit)
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    try:
        for a, b in zip(bounds, bounds[1:]):
            guard.check(stream[a:b])
    except Refusal as r:
        return r.code, r.reason
    return None


frames = st.one_of(
    st.builds(lambda n: frame(b"x" * n), st.integers(0, 1200)),
    st.builds(lambda n: frame(b"x" * n, OP_BINARY), st.integers(0, 300)),
    st.builds(lambda n: frame(b"x" * n, fin=False) + frame(b"y" * n, OP_CONT), st.integers(0, 700)),
    st.builds(lambda n: frame(b"p" * n, OP_PING), st.integers(0, 130)),
    st.just(frame(b"\x03\xe8", OP_CLOSE)),
    st.just(frame(b"x", mask=False)),
    st.just(frame(b"x", rsv=1)),
    st.just(frame(b"x", 0x3)),
    st.just(frame(b"x", OP_CONT)),
)


@settings(max_examples=200, deadline=None, database=None)
@given(stream=st.lists(frames, max_size=6).map(b"".join), cuts=st.lists(st.integers(0, 10_000), max_size=30))
def test_verdict_does_not_depend_on_how_reads_are_cut(stream: bytes, cuts: list[int]) -> None:
    assert verdict(stream, cuts) == verdict(stream, [])


@pytest.mark.parametrize("stream, want", [
    (frame(b"x" * 1000), None),
    (frame(b"x" * 1001), 1009),
    (frame(b"x" * 600, fin=False) + frame(b"x" * 401, OP_CONT), 1009),
    (frame(b"x" * 600, fin=False) + frame(b"p", OP_PING) + frame(b"x" * 400, OP_CONT), None),
    (frame(b"", length=2**63 + 5), 1009),
    (frame(b"x", mask=False), 1002),
    (frame(b"x", OP_PING, fin=False), 1002),
    (frame(b"x" * 126, OP_PING), 1002),
    (frame(b"{", fin=False) + frame(b"}"), 1002),
    (frame(b"x", 0xB), 1002),
])
def test_verdicts(stream: bytes, want: int | None) -> None:
    got = verdict(stream, [])
    assert (got[0] if got else None) == want, got


def test_the_limit_can_be_raised_mid_stream() -> None:
    guard = FrameHeaderGuard(10)
    guard.check(frame(b"x" * 10))
    guard.limit = 100
    guard.check(frame(b"x" * 100))
    with pytest.raises(Refusal):
        guard.check(frame(b"x" * 101))
