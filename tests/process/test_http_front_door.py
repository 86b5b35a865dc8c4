"""HTTP at the front door, against a real gateway: a request head must be complete 10 s after its
first byte (slowloris, spec S5), and bad HTTP gets a JSON 4xx, never a traceback (spec S6)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ..harness import Gateway, Home, running_gateway
from ..rawws import read_http_answer

HEADERS_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("http-door"))
    with running_gateway(home) as gateway:
        yield gateway
        out = gateway.output() + home.log_file.read_text(errors="replace")
        assert "Traceback" not in out, out[-3000:]


class Trickler(threading.Thread):
    """One connection sending `head` a byte at a time, `interval` apart, after sending `first`
    at once; records when the server ended it and what it answered."""

    def __init__(self, port: int, head: bytes, interval: float, first: bytes = b"") -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.head, self.interval, self.first = head, interval, first
        self.opened = time.monotonic()
        self.started_head: float | None = None
        self.ended: float | None = None
        self.answers: list[tuple[int, dict, bytes]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        buf = b""
        try:
            if self.first:
                self.sock.sendall(self.first)
                status, headers, body, buf = read_http_answer(self.sock)
                self.answers.append((status, headers, body))
            self.sock.settimeout(self.interval)
            for i in range(len(self.head)):
                if self.stop.is_set():
                    return
                if self.started_head is None:
                    self.started_head = time.monotonic()
                self.sock.sendall(self.head[i : i + 1])
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                buf += data
                break  # an answer or EOF: the server ended it
            if buf:
                status, headers, body, _ = read_http_answer(self.sock, buf)
                self.answers.append((status, headers, body))
            else:
                self.sock.settimeout(30)
                while self.sock.recv(65536):
                    pass
        except (OSError, EOFError):
            pass
        finally:
            self.ended = time.monotonic()
            self.sock.close()


SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"


def test_request_heads_have_a_10s_deadline_not_an_idle_timeout(gw: Gateway) -> None:
    assert gw.port is not None
    slow = [Trickler(gw.port, SLOW_HEAD, 1.0) for _ in range(20)]
    silent = Trickler(gw.port, b"", 1.0)  # opens and sends nothing
    keepalive = Trickler(gw.port, SLOW_HEAD, 1.0, first=b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    everyone = [*slow, silent, keepalive]
    try:
        for t in everyone:
            t.start()
        for t in everyone:
            t.join(HEADERS_TIMEOUT_S + 5)
        for t in everyone:
            assert t.ended is not None, "still open after the deadline + 5 s"
        for t in [*slow, keepalive]:
            assert t.started_head is not None
            took = t.ended - t.started_head
            assert HEADERS_TIMEOUT_S - 1.5 <= took <= HEADERS_TIMEOUT_S + 1, f"ended {took:.1f} s after its first byte"
            status, headers, body = t.answers[-1]
            assert status == 408, t.answers
            assert headers.get("content-type", "").startswith("application/json")
            assert json.loads(body)["error"]["type"] == "request_timeout"
        assert HEADERS_TIMEOUT_S - 1.5 <= silent.ended - silent.opened <= HEADERS_TIMEOUT_S + 1
        assert keepalive.answers[0][0] == 200  # the first request on it was served; the deadline is per request
    finally:
        for t in everyone:
            t.stop.set()


def test_a_prompt_request_is_served_meanwhile(gw: Gateway) -> None:
    assert gw.http_status("/healthz") == 200


BAD_REQUESTS = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad\x7fName: 1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS ClientHello
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 0\r\n\r\n",  # found by the fuzz test: was aiohttp's text/plain 417
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n",
]


def test_expect_100_continue_still_works(gw: Gateway) -> None:
    with socket.create_connection(("127.0.0.1", gw.port or 0), timeout=10) as s:
        s.sendall(b"POST /channels/webhook/none HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        status, headers, _body, rest = read_http_answer(s)
        assert status == 100  # the interim answer, before the body is sent
        s.sendall(b"{}")
        while status == 100:
            status, headers, _body, rest = read_http_answer(s, rest.lstrip(b"\r\n"))
    assert status == 404 and headers.get("content-type", "").startswith("application/json")


@pytest.mark.parametrize("request_bytes", BAD_REQUESTS, ids=range(len(BAD_REQUESTS)))
def test_bad_http_gets_a_json_4xx(gw: Gateway, request_bytes: bytes) -> None:
    assert gw.port is not None
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(request_bytes)
        status, headers, body, _ = read_http_answer(s)
    assert 400 <= status < 500, (status, body)
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert "error" in json.loads(body), body
