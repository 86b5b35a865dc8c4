"""The WebSocket front door against a real gateway: frame limits checked on frame headers before
anything is buffered (1009/1002), pre-auth connections per peer (429), GET-only upgrades (405),
the Origin allow-list (403), invalid UTF-8 (1007) and protocol violations, each with a close code
and never a traceback (spec S3, S4, S5, S6)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from ..harness import TOKEN, Gateway, Home, wait_for
from ..rawws import (
    DROPPED, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, STILL_OPEN, HttpAnswer, RawWS, connect_frame, frame,
)

PREAUTH_MAX = 65_536
MAX_PAYLOAD = 26_214_400


def _start(tmp_path_factory: pytest.TempPathFactory, name: str, **gateway: Any) -> Iterator[Gateway]:
    """A gateway for the module; when the module is done, nothing it was sent may have caused a traceback."""
    home = Home(tmp_path_factory.mktemp(name))
    home.write_config(home.default_config(**gateway))
    gw = Gateway(home, ["--port", "0"])
    try:
        gw.start()
        gw.wait_ready()
        yield gw
        assert gw.proc is not None and gw.proc.poll() is None, "the gateway exited"
        no_traceback(gw)
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from _start(tmp_path_factory, "door")


@pytest.fixture(scope="module")
def open_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Auth mode none: the case where a foreign page would get admin rights."""
    yield from _start(
        tmp_path_factory, "door-none", auth={"mode": "none"},
        controlUi={"allowedOrigins": ["https://App.Example.com/", "http://127.0.0.1:9"]},
        publicOrigin="https://gateway.example.net",
    )


def no_traceback(gw: Gateway) -> None:
    text = gw.output() + "\n".join(json.dumps(r) for r in gw.home.log_records())
    assert "Traceback" not in text, text[-3000:]


def closed_with(ws: RawWS, timeout: float = 5.0) -> tuple[int | str, str]:
    code, reason, _ = ws.until_close(timeout)
    return code, reason


# --------------------------------------------------------------------------- size limits on headers


def test_preauth_frame_header_over_64k_is_refused_before_its_payload(gw: Gateway) -> None:
    """Only the header is sent: before the guard, the server waited for 70,000 bytes of payload."""
    ws = RawWS(gw.port)
    try:
        assert ws.recv_json()["event"] == "connect.challenge"
        ws.send(frame(b"", length=PREAUTH_MAX + 1))
        assert closed_with(ws, 3) == (1009, f"message over {PREAUTH_MAX} bytes")
    finally:
        ws.close()


def test_preauth_fragmented_message_over_64k_in_sum_is_refused(gw: Gateway) -> None:
    ws = RawWS(gw.port)
    try:
        ws.recv_json()
        ws.send(frame(b"x" * 40_000, fin=False))
        ws.send(frame(b"", OP_CONT, length=30_000))  # 70,000 in sum; no payload follows
        assert closed_with(ws, 3)[0] == 1009
    finally:
        ws.close()


def test_preauth_frames_declaring_25mib_do_not_grow_the_frontend(gw: Gateway) -> None:
    import psutil

    pid = gw.children_by_title()["frontend"]
    before = psutil.Process(pid).memory_info().rss
    socks = [RawWS(gw.port) for _ in range(5)]
    try:
        for ws in socks:
            ws.recv_json()
            ws.send(frame(b"x" * 1_000_000, length=MAX_PAYLOAD - 1))  # header + 1 MB of the 25 MiB
        for ws in socks:
            assert closed_with(ws, 3)[0] == 1009
    finally:
        for ws in socks:
            ws.close()
    grown = psutil.Process(pid).memory_info().rss - before
    assert grown < 16 * 2**20, f"front-end RSS grew {grown / 2**20:.1f} MiB"


def test_after_hello_the_limit_is_max_payload(gw: Gateway) -> None:
    ws = RawWS(gw.port)
    try:
        assert ws.hello(TOKEN)["ok"]
        big = json.dumps({"type": "req", "id": "big", "method": "health", "params": {"pad": "x" * 100_000}}).encode()
        ws.send(frame(big))  # over the pre-auth limit: fine now
        while True:
            msg = ws.recv_json()
            if msg.get("id") == "big":
                break
        ws.send(frame(b"", length=MAX_PAYLOAD + 1))
        assert closed_with(ws, 5)[0] == 1009
    finally:
        ws.close()


def test_connect_split_over_many_small_reads_is_accepted(gw: Gateway) -> None:
    """The guard keeps header state across reads (a header split between two TCP segments)."""
    ws = RawWS(gw.port)
    try:
        ws.recv_json()
        data = connect_frame(TOKEN)
        for i in range(len(data)):
            ws.send(data[i : i + 1])
        while True:
            msg = ws.recv_json()
            if msg.get("id") == "c1":
                assert msg["ok"], msg
                break
    finally:
        ws.close()


# --------------------------------------------------------------------------- protocol violations

VIOLATIONS: dict[str, tuple[bytes, int]] = {
    "unmasked": (frame(b'{"type":"req","id":"u","method":"health"}', mask=False), 1002),
    "reserved-bits": (frame(b"{}", rsv=4), 1002),
    "reserved-opcode": (frame(b"{}", 0x3), 1002),
    "control-opcode-0xb": (frame(b"", 0xB), 1002),
    "fragmented-ping": (frame(b"x", OP_PING, fin=False), 1002),
    "ping-over-125": (frame(b"x" * 126, OP_PING), 1002),
    "orphan-continuation": (frame(b"{}", OP_CONT), 1002),
    "message-inside-fragmented": (frame(b"{", fin=False) + frame(b"{}"), 1002),
    "close-code-999": (frame(struct.pack("!H", 999), OP_CLOSE), 1002),
    "close-reason-not-utf8": (frame(struct.pack("!H", 1000) + b"\xff", OP_CLOSE), 1007),
    "text-not-utf8": (frame(b'{"type":"req","id":"\xff","method":"health"}'), 1007),
    "text-not-utf8-outside-strings": (frame(b'{"type":"req",\xc3\x28}'), 1007),
}


@pytest.mark.parametrize("authed", [False, True], ids=["pre-auth", "after-hello"])
@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_protocol_violation_gets_its_close_code(gw: Gateway, name: str, authed: bool) -> None:
    data, want = VIOLATIONS[name]
    ws = RawWS(gw.port)
    try:
        if authed:
            assert ws.hello(TOKEN)["ok"]
        else:
            ws.recv_json()
        ws.send(data)
        code, _ = closed_with(ws)
        assert code == want, (name, code)
    finally:
        ws.close()


def test_binary_frame_after_hello_that_is_not_utf8_gets_an_error_frame(gw: Gateway) -> None:
    ws = RawWS(gw.port)
    try:
        assert ws.hello(TOKEN)["ok"]
        ws.send(frame(b"\x00\xff\xfe", OP_BINARY))
        while True:
            msg = ws.recv_json()
            if msg.get("type") == "res":
                break
        assert msg["id"] == "invalid" and msg["error"]["code"] == "INVALID_REQUEST", msg
        ws.send(frame(json.dumps({"type": "req", "id": "b", "method": "health"}).encode(), OP_BINARY))
        while (msg := ws.recv_json()).get("id") != "b":
            pass
        assert msg["ok"], msg  # binary JSON is read as text, as upstream does
    finally:
        ws.close()


# --------------------------------------------------------------------------- pre-auth connections per peer


def _open_preauth(port: int, n: int, host: str = "127.0.0.1") -> list[RawWS]:
    """n pre-auth sockets (waiting for places that sockets of earlier tests still hold while the server sees them close)."""
    held: list[RawWS] = []
    try:
        for _ in range(n):
            held.append(wait_for(lambda: _try_open(port, host), 5, what="a pre-auth place"))
    except BaseException:
        for ws in held:
            ws.close()
        raise
    return held


def test_65th_preauth_connection_from_one_peer_gets_429(gw: Gateway) -> None:
    held = _open_preauth(gw.port, 64)
    try:
        with pytest.raises(HttpAnswer) as refused:
            RawWS(gw.port)
        assert refused.value.status == 429
        assert refused.value.headers.get("retry-after", "").isdigit()
        assert refused.value.json()["error"]["type"] == "rate_limited"
        # finishing a connect frees a place; so does closing
        assert held[0].connect(TOKEN)["ok"]
        extra = wait_for(lambda: _try_open(gw.port), 5, what="a place after hello-ok")
        extra.close()
        held.pop(1).close()
        wait_for(lambda: _try_open(gw.port), 5, what="a place after a close").close()
    finally:
        for ws in held:
            ws.close()


def _try_open(port: int, host: str = "127.0.0.1") -> RawWS | None:
    try:
        ws = RawWS(port, host=host)
    except HttpAnswer as exc:
        assert exc.status == 429, exc
        return None
    ws.recv_json()
    return ws


def test_ipv6_loopback_is_another_peer(gw: Gateway) -> None:
    """Counted per peer address: 64 pre-auth sockets from 127.0.0.1 leave [::1] its own 64."""
    held = _open_preauth(gw.port, 64)
    try:
        with pytest.raises(HttpAnswer):
            RawWS(gw.port)
        other = RawWS(gw.port, host="::1")
        other.recv_json()
        other.close()
    finally:
        for ws in held:
            ws.close()


# --------------------------------------------------------------------------- upgrade method and Origin


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_upgrade_with_another_method_than_get_is_405(gw: Gateway, method: str) -> None:
    with pytest.raises(HttpAnswer) as refused:
        RawWS(gw.port, method=method)
    assert refused.value.status == 405
    assert refused.value.headers.get("allow") == "GET"
    assert refused.value.json()["error"]["type"] == "method_not_allowed"


def test_upgrade_without_key_is_a_json_400(gw: Gateway) -> None:
    with pytest.raises(HttpAnswer) as refused:
        RawWS(gw.port, headers={"Sec-WebSocket-Key": ""})
    assert refused.value.status == 400
    assert refused.value.json()["error"]["type"] == "invalid_request_error"


def _own(port: int) -> list[str]:
    return [f"{s}://{h}:{port}" for s in ("http", "https") for h in ("127.0.0.1", "localhost", "[::1]")]


FOREIGN = [
    "http://evil.example", "null", "http://localhost.evil.com:{p}", "http://127.0.0.1.evil.com:{p}",
    "http://localhost:{q}", "http://127.0.0.1", "http://LOCALHOST:{p}", "HTTP://localhost:{p}",
    "http://localhost:{p}/", "http://localhost:{p}/path", "http://user@localhost:{p}", "http://localhost:{p}?x=1",
    "http://xn--lcalhost-9wa:{p}", "http://loc\u0430lhost:{p}", "http://[::2]:{p}", "http://127.0.0.2:{p}",
    "https://gateway.example.net:444", "http://gateway.example.net", "https://app.example.com:8443",
    "http://app.example.com", "ws://localhost:{p}", "file://", "",
    "http://localhost:0{p}", "http://localhost:{p}:{p}",
]


@pytest.mark.parametrize("origin", FOREIGN)
def test_foreign_origin_is_403_before_the_upgrade_even_with_auth_off(open_gw: Gateway, origin: str) -> None:
    value = origin.format(p=open_gw.port, q=open_gw.port + 1)
    with pytest.raises(HttpAnswer) as refused:
        RawWS(open_gw.port, headers={"Origin": value})
    assert refused.value.status == 403, value
    assert refused.value.json()["error"]["type"] == "origin_not_allowed"


def test_allowed_origins_own_public_and_configured(open_gw: Gateway) -> None:
    allowed = _own(open_gw.port) + ["https://app.example.com", "http://127.0.0.1:9", "https://gateway.example.net", None]
    for origin in allowed:
        ws = RawWS(open_gw.port, headers={"Origin": origin} if origin else {})
        try:
            assert ws.recv_json()["event"] == "connect.challenge", origin
        finally:
            ws.close()


def test_host_header_does_not_make_an_origin_own(open_gw: Gateway) -> None:
    """DNS rebinding: the page's origin is evil.example:PORT and so is the Host it sends."""
    with pytest.raises(HttpAnswer) as refused:
        RawWS(open_gw.port, headers={"Origin": f"http://evil.example:{open_gw.port}", "Host": f"evil.example:{open_gw.port}"})
    assert refused.value.status == 403


def test_wildcard_allows_any_origin_and_warns(home: Home, make_gateway: Any) -> None:
    gw = make_gateway(config=home.default_config(controlUi={"allowedOrigins": ["*"]}))
    ws = RawWS(gw.port, headers={"Origin": "http://evil.example"})
    ws.recv_json()
    ws.close()
    wait_for(lambda: any("allowedOrigins" in m and "*" in m for m in home.log_messages()), 5, what="the wildcard warning")
