"""Hypothesis against one real gateway (spec S6): generated connect frames, requests after
hello and HTTP requests. Every input must be answered (an HTTP status, a close code or an error
frame), no process of the tree may exit, and nothing may leave a traceback in the gateway's
output or log.

Methods with side effects beyond the presence list (config writes, restarts) are never called.
OPENCLAW_FUZZ_EXAMPLES sets the examples per test (default 120; CI's budget)."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..harness import TOKEN, Gateway, Home
from ..rawws import OP_BINARY, OP_TEXT, RawWS, frame, read_http_answer

FUZZ = settings(max_examples=int(os.environ.get("OPENCLAW_FUZZ_EXAMPLES", "120")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CLOSE_CODES = {1000, 1002, 1007, 1008, 1009}
SAFE_METHODS = ["health", "status", "system-presence", "system-event", "sessions.list", "node.list", "node.describe",
                "channels.status", "logs.tail", "config.get", "connect", "last-heartbeat"]


class Watched:
    """The gateway and the PIDs of its tree when the module started."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.pids = self.tree()

    def tree(self) -> set[int]:
        return {self.gw.pid, *(p.pid for p in self.gw.track() if p.status() != psutil.STATUS_ZOMBIE)}

    def assert_intact(self) -> None:
        assert self.tree() == self.pids, f"the process tree changed: {self.pids} -> {self.tree()}"
        text = self.gw.output() + "\n".join(json.dumps(r) for r in self.gw.home.log_records())
        assert "Traceback" not in text, text[text.index("Traceback") - 500:][:4000]


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    home = Home(tmp_path_factory.mktemp("fuzz"))
    home.write_config(home.default_config())
    gw = Gateway(home, ["--port", "0"])
    try:
        gw.start()
        gw.wait_ready()
        w = Watched(gw)
        yield w
        w.assert_intact()
    finally:
        gw.stop()


# --------------------------------------------------------------------------- strategies

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False),
    st.text(max_size=40),
)
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def _connect_params() -> dict[str, Any]:
    return {
        "minProtocol": 4, "maxProtocol": 4, "role": "operator", "scopes": ["operator.admin"], "auth": {"token": TOKEN},
        "client": {"id": "cli", "version": "fuzz", "platform": "linux", "mode": "cli", "instanceId": str(uuid.uuid4())},
    }


@st.composite
def mutated_connect(draw: st.DrawFn) -> bytes:
    """A connect frame with some of its parts replaced, dropped or added, then maybe byte-mutated."""
    f: dict[str, Any] = {"type": "req", "id": "c1", "method": "connect", "params": _connect_params()}
    for _ in range(draw(st.integers(0, 3))):
        params = f.get("params")
        parts = [f] + ([params] if isinstance(params, dict) else [])
        if isinstance(params, dict):
            parts += [v for v in (params.get("client"), params.get("auth")) if isinstance(v, dict)]
        target = draw(st.sampled_from(parts))
        key = draw(st.sampled_from(sorted(target) + ["extra"]))
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "drop":
            target.pop(key, None)
        else:
            target[key if action == "replace" else draw(st.text(min_size=1, max_size=8))] = draw(json_value)
    data = json.dumps(f).encode()
    mutation = draw(st.sampled_from(["none", "none", "flip", "truncate", "deep", "nan", "bigint"]))
    if mutation == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
    elif mutation == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif mutation == "deep":
        n = draw(st.integers(100, 40_000))
        data = data[:-1] + b',"x":' + b"[" * n + b"]" * n + b"}"
    elif mutation == "nan":
        data = data.replace(b'"minProtocol": 4', b'"minProtocol": NaN')
    elif mutation == "bigint":
        data = data.replace(b'"minProtocol": 4', b'"minProtocol": 1' + b"0" * 40)
    return data


@st.composite
def request_frame(draw: st.DrawFn) -> tuple[int, bytes]:
    """(opcode, payload) of one frame sent after hello."""
    kind = draw(st.sampled_from(["req", "req", "req", "value", "bytes", "deep", "utf8", "binary"]))
    if kind == "req":
        f: dict[str, Any] = {"type": draw(st.sampled_from(["req", "req", "res", "event", ""])),
                             "id": draw(st.one_of(st.text(max_size=20), st.integers(), st.none(), json_value)),
                             "method": draw(st.one_of(st.sampled_from(SAFE_METHODS), st.text(max_size=20).map(lambda s: "fuzz." + s), json_value))}
        if draw(st.booleans()):
            f["params"] = draw(json_value)
        if draw(st.integers(0, 4)) == 0:
            f[draw(st.text(min_size=1, max_size=8))] = draw(json_value)
        data = json.dumps(f).encode()
        if draw(st.integers(0, 5)) == 0:
            data = data.replace(b'"id": 0', b'"id": 1' + b"0" * 30)
        return OP_TEXT, data
    if kind == "value":
        return OP_TEXT, json.dumps(draw(json_value)).encode()
    if kind == "bytes":
        return OP_TEXT, draw(st.binary(max_size=200)).decode("utf-8", "ignore").encode()
    if kind == "deep":
        n = draw(st.integers(100, 100_000))
        return OP_TEXT, b'{"type":"req","id":"d","method":"health","params":' + b"[" * n + b"]" * n + b"}"
    if kind == "utf8":
        return OP_TEXT, b'{"type":"req","id":"u","method":"' + draw(st.binary(min_size=1, max_size=8)) + b'\xff"}'
    return OP_BINARY, draw(st.binary(max_size=200))


# --------------------------------------------------------------------------- tests


@FUZZ
@given(data=mutated_connect(), binary=st.booleans())
def test_fuzz_first_frame(watched: Watched, data: bytes, binary: bool) -> None:
    ws = RawWS(watched.gw.port)
    try:
        ws.recv_json()
        ws.send(frame(data, OP_BINARY if binary else OP_TEXT))
        while True:
            try:
                op, payload = ws.recv_frame(10)
            except (EOFError, ConnectionError):
                raise AssertionError(f"dropped without a close frame after {data[:300]!r}") from None
            if op == 0x8:
                assert int.from_bytes(payload[:2], "big") in CLOSE_CODES, (payload, data[:300])
                return
            if op == OP_TEXT and json.loads(payload).get("ok"):
                return  # hello-ok: the mutation kept it valid
    finally:
        ws.close()


@FUZZ
@given(frames=st.lists(request_frame(), min_size=1, max_size=3))
def test_fuzz_requests_after_hello(watched: Watched, frames: list[tuple[int, bytes]]) -> None:
    """One frame at a time: each gets exactly one `res`, or the connection is closed with a code."""
    ws = RawWS(watched.gw.port)
    try:
        assert ws.hello(TOKEN)["ok"]
        for opcode, payload in frames:
            ws.send(frame(payload, opcode))
            while True:
                try:
                    op, data = ws.recv_frame(10)
                except (EOFError, ConnectionError):
                    raise AssertionError(f"dropped without a close frame after {payload!r:.300}") from None
                if op == 0x8:
                    code = int.from_bytes(data[:2], "big")
                    assert code in CLOSE_CODES, (code, payload[:300])
                    return
                if op == OP_TEXT and json.loads(data).get("type") == "res":
                    break
    finally:
        ws.close()


TOKEN_CHARS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1, max_size=12)
HEADER_VALUE = st.one_of(st.text(max_size=30), st.binary(max_size=30).map(lambda b: b.decode("latin-1")))


@st.composite
def http_request(draw: st.DrawFn) -> bytes:
    method = draw(st.one_of(st.sampled_from(["GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE", "PATCH"]), TOKEN_CHARS))
    path = draw(st.one_of(st.sampled_from(["/", "/healthz", "/readyz", "/startupz", "/x", "/health/x", "*"]),
                          st.text(max_size=40).map(lambda s: "/" + s)))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1", "FOO", ""]))
    headers = [("Host", "127.0.0.1")] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 5))):
        headers.append((draw(st.one_of(st.sampled_from(
            ["Content-Length", "Transfer-Encoding", "Upgrade", "Connection", "Origin", "Expect", "Sec-WebSocket-Version"]),
            TOKEN_CHARS)), draw(HEADER_VALUE)))
    head = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    data = head.encode("utf-8", "surrogateescape")
    if draw(st.integers(0, 4)) == 0:  # byte-level damage, leaving the head's end in place
        i = draw(st.integers(0, len(data) - 4))
        data = data[:i] + draw(st.binary(min_size=1, max_size=4)) + data[i:]
    return data + draw(st.binary(max_size=20))


@FUZZ
@given(request_bytes=http_request())
def test_fuzz_http_requests(watched: Watched, request_bytes: bytes) -> None:
    with socket.create_connection(("127.0.0.1", watched.gw.port), timeout=10) as s:
        s.sendall(request_bytes)
        try:
            status, headers, body = read_http_answer(s, timeout=12, body_timeout=1)[:3]
        except EOFError as exc:
            raise AssertionError(f"no HTTP answer to {request_bytes!r:.300}") from exc
    assert 100 <= status < 600
    if status >= 400:
        assert headers.get("content-type", "").startswith("application/json"), (status, headers, body[:200], request_bytes)
        if len(body) == int(headers.get("content-length", -1)):  # a HEAD answer has none
            assert "error" in json.loads(body)


def test_fuzz_left_the_tree_intact(watched: Watched) -> None:
    watched.assert_intact()
