"""`ipc/transport.py` on real ZeroMQ ipc:// sockets: what a peer sends can only cost its own
message, refusals are counted and logged once per peer, and every send failure is reported."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from openclaw.ipc import control, envelope, logs, transport
from openclaw.ipc.transport import Endpoint, bind_router, connect_dealer

TIMEOUT_S = 5.0


async def until(cond: Callable[[], Any], what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while not (value := cond()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
    return value


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "test.log"
    logs.configure(str(path), "test")
    yield path
    logs.configure(None, "test")


async def recv(sock: zmq.Socket) -> Any:
    """One message from a raw peer socket, decoded; fails (never hangs) if none comes."""
    assert await asyncio.to_thread(sock.poll, int(TIMEOUT_S * 1000)), "no message arrived"
    return msgspec.msgpack.decode(sock.recv(zmq.NOBLOCK))


def records(path: Path, message: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["message"] == message]


class Plane:
    """A ROUTER endpoint (the supervisor's control socket) and raw peers that connect to it."""

    def __init__(self, tmp_path: Path) -> None:
        self.url = f"ipc://{tmp_path / 'control.sock'}"
        self.ctx = zmq.Context()
        self.got: list[tuple[bytes | None, Any]] = []
        self.endpoint: Endpoint[Any] = Endpoint(
            bind_router(self.ctx, self.url), control.supervisor_decoder, lambda i, m: self.got.append((i, m)),
            logs.get_logger("test/control"),
        )
        self.peers: list[zmq.Socket] = []

    def peer(self, identity: bytes | None = None, kind: int = zmq.DEALER) -> zmq.Socket:
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if identity is not None:
            s.setsockopt(zmq.IDENTITY, identity)
        s.connect(self.url)
        self.peers.append(s)
        return s

    def close(self) -> None:
        for s in self.peers:
            s.close(linger=0)
        self.endpoint.close()
        self.ctx.term()


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    p = Plane(tmp_path)
    yield p
    p.close()


JUNK: list[list[bytes]] = [
    [b"\xc1"],  # never valid msgpack
    [b""],
    [b"\x93\x01\x02\x03"],  # a msgpack array: no message is one
    [msgspec.msgpack.encode({"type": "no-such-tag"})],
    [msgspec.msgpack.encode({"type": "heartbeat", "instance": 7})],  # right tag, wrong field type
    [envelope.encode(envelope.Registered())],  # a message of the other plane
    [b"[" * 100_000],  # nesting deeper than the stack
    [b"", control.encode(control.ChildHeartbeat("a.1"))],  # REQ-style framing
    [b"x", b"y", b"z"],
]


def test_malformed_input_is_dropped_counted_and_logged_once_per_peer(plane: Plane, log_file: Path) -> None:
    async def run() -> None:
        plane.endpoint.start()
        a, b = plane.peer(b"a.1"), plane.peer(b"b.1")
        for _ in range(20):
            for frames in JUNK:
                a.send_multipart(frames)
                b.send_multipart(frames)
        a.send(control.encode(control.ChildHeartbeat("a.1")))
        b.send(control.encode(control.ChildHeartbeat("b.1")))
        await until(lambda: len(plane.got) == 2, "the two valid messages")

    asyncio.run(run())
    assert sorted(plane.got) == [(b"a.1", control.ChildHeartbeat("a.1")), (b"b.1", control.ChildHeartbeat("b.1"))]
    assert plane.endpoint.dropped == 2 * 20 * len(JUNK)
    first = records(log_file, "dropped a malformed internal message")
    assert sorted(r["fields"]["peer"] for r in first) == ["a.1", "b.1"]  # one line per peer, not per message
    assert all(r["fields"]["socket"] == "control.sock" and r["fields"]["reason"] for r in first)
    plane.endpoint.close()
    [total] = records(log_file, "malformed internal messages dropped in total")
    assert total["fields"]["dropped"] == 2 * 20 * len(JUNK) and total["fields"]["peers"] == 2


def test_an_oversize_frame_costs_only_that_peer_its_connection(
    tmp_path: Path, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "MAX_MESSAGE_BYTES", 4096)
    plane = Plane(tmp_path)
    try:
        async def run() -> None:
            plane.endpoint.start()
            big, good = plane.peer(b"big.1"), plane.peer(b"good.1")
            big.send(b"\x00" * 100_000)
            good.send(control.encode(control.ChildHeartbeat("good.1")))
            await until(lambda: plane.got, "the valid message")
            assert plane.endpoint.send(b"x" * 5000, b"good.1") is False  # refused, not queued
            assert plane.endpoint.send(control.encode(control.Drain(reason="r")), b"good.1") is True
            assert (await recv(good))["type"] == "drain"

        asyncio.run(run())
        assert plane.got == [(b"good.1", control.ChildHeartbeat("good.1"))]
        assert plane.endpoint.dropped == 0  # the big frame never reached us: libzmq cut that connection
        assert len(records(log_file, "refused to send an oversize internal message")) == 1
    finally:
        plane.close()


def test_a_second_connection_with_a_live_identity_cannot_take_the_route(plane: Plane) -> None:
    async def run() -> None:
        plane.endpoint.start()
        real = plane.peer(b"frontend.1")
        real.send(control.encode(control.ChildHeartbeat("frontend.1")))
        await until(lambda: plane.got, "the real peer's message")
        impostor = plane.peer(b"frontend.1")
        impostor.send(control.encode(control.ChildHeartbeat("impostor")))
        real.send(control.encode(control.ChildHeartbeat("frontend.1")))
        await until(lambda: len(plane.got) == 2, "the real peer's second message")
        assert plane.endpoint.send(control.encode(control.Drain(reason="mine")), b"frontend.1")
        assert (await recv(real))["reason"] == "mine"
        assert impostor.poll(100) == 0

    asyncio.run(run())
    assert [m.instance for _, m in plane.got] == ["frontend.1", "frontend.1"]


def test_every_send_failure_is_reported(plane: Plane, tmp_path: Path) -> None:
    async def run() -> None:
        plane.endpoint.start()
        body = control.encode(control.Drain(reason="r"))
        assert plane.endpoint.send(body, b"nobody.1") is False  # ROUTER_MANDATORY: unknown identity
        child = plane.peer(b"agent.1")
        child.send(control.encode(control.ChildHeartbeat("agent.1")))
        await until(lambda: plane.got, "the child's hello")
        assert plane.endpoint.send(body, b"agent.1") is True
        child.close(linger=0)  # the child dies: a message to it is reported as not sent
        await until(lambda: not plane.endpoint.send(body, b"agent.1"), "sends to the dead child to fail")

        ctx = zmq.Context()
        lonely = Endpoint(
            connect_dealer(ctx, f"ipc://{tmp_path / 'nobody.sock'}", "w.1"), control.child_decoder,
            lambda i, m: None, logs.get_logger("test/dealer"),
        )
        lonely.start()
        try:  # nobody reads: the queue fills up and then sends fail instead of blocking
            results = [lonely.send(body) for _ in range(transport.HWM * 3)]
            assert results[0] is True and results[-1] is False
        finally:
            lonely.close()
            ctx.term()
        plane.endpoint.close()
        assert plane.endpoint.send(body, b"agent.1") is False

    asyncio.run(run())


def test_a_handler_bug_is_logged_boundedly_and_the_socket_goes_on(tmp_path: Path, log_file: Path) -> None:
    ctx = zmq.Context()
    url = f"ipc://{tmp_path / 'w.sock'}"
    seen: list[Any] = []

    def handle(identity: bytes | None, msg: Any) -> None:
        seen.append(msg)
        if len(seen) <= 50:
            raise ValueError("bug")

    ep: Endpoint[Any] = Endpoint(bind_router(ctx, url), control.supervisor_decoder, handle, logs.get_logger("test"))
    peer = ctx.socket(zmq.DEALER)
    peer.setsockopt(zmq.LINGER, 0)
    peer.connect(url)

    async def run() -> None:
        ep.start()
        for _ in range(51):
            peer.send(control.encode(control.ChildHeartbeat("x")))
        await until(lambda: len(seen) == 51, "every message handled")

    try:
        asyncio.run(run())
    finally:
        peer.close(linger=0)
        ep.close()
        ctx.term()
    assert ep.handler_failures == 50
    assert len(records(log_file, "message handler failed")) == 10
