"""HTTP probes on the gateway port (spec §5: /health(z), /ready(z), /startup(z)) and the shared WS upgrade."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ..harness import Gateway, Home, running_gateway
from ..wsclient import Client


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("http"))
    with running_gateway(home) as gateway:
        yield gateway


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(gw: Gateway, path: str, method: str = "GET", data: bytes | None = None) -> Reply:
    req = urllib.request.Request(f"http://127.0.0.1:{gw.port}{path}", method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return Reply(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read())


def assert_json_headers(r: Reply) -> None:
    ctype = r.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", ctype
    assert "charset=utf-8" in ctype.lower().replace(" ", ""), ctype
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("Cache-Control") == "no-store"
    assert r.headers.get("Referrer-Policy") == "no-referrer"


@pytest.mark.parametrize("path", ["/health", "/healthz"])
def test_liveness(gw: Gateway, path: str) -> None:
    r = http(gw, path)
    assert r.status == 200
    assert_json_headers(r)
    assert r.json() == {"ok": True, "status": "live"}


@pytest.mark.parametrize("path", ["/ready", "/readyz"])
def test_readiness(gw: Gateway, path: str) -> None:
    r = http(gw, path)
    assert r.status == 200
    assert_json_headers(r)
    body = r.json()
    assert body["ready"] is True
    assert body["failing"] == []
    assert isinstance(body["uptimeMs"], int) and body["uptimeMs"] >= 0


@pytest.mark.parametrize("path", ["/startup", "/startupz"])
def test_startup(gw: Gateway, path: str) -> None:
    r = http(gw, path)
    assert r.status == 200
    assert_json_headers(r)
    body = r.json()
    assert body["ok"] is True and body["status"] == "started"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["uptimeMs"], int) and not isinstance(body["uptimeMs"], bool) and body["uptimeMs"] >= 0


def test_startup_version_matches_hello(gw: Gateway) -> None:
    c = Client(gw.url)
    try:
        hello = c.hello()["payload"]
    finally:
        c.close()
    assert http(gw, "/startupz").json()["version"] == hello["server"]["version"]


def test_uptime_grows(gw: Gateway) -> None:
    first = http(gw, "/startupz").json()["uptimeMs"]
    deadline = time.monotonic() + 5
    while http(gw, "/startupz").json()["uptimeMs"] <= first:  # polls a condition, not a fixed sleep
        assert time.monotonic() < deadline, "uptimeMs never increased"


# API-like paths only: any other unknown GET is the Control UI's SPA fallback (spec §5, test_control_ui_http.py);
# a disabled /v1/* endpoint is text/plain (test_hooks.py)
@pytest.mark.parametrize("path", ["/api/x", "/v1/other"])
def test_unknown_path_is_404_json(gw: Gateway, path: str) -> None:
    r = http(gw, path)
    assert r.status == 404
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("Content-Type", "").startswith("application/json")
    body = r.json()
    assert isinstance(body, dict) and body


@pytest.mark.parametrize("path", ["/health", "/readyz", "/startupz"])
def test_post_to_probe_is_405_with_allow(gw: Gateway, path: str) -> None:
    r = http(gw, path, method="POST", data=b"{}")
    assert r.status == 405
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert r.headers.get("Content-Type", "").startswith("application/json")
    assert isinstance(r.json(), dict)
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert "GET" in allow, r.headers.get("Allow")
    assert "POST" not in allow


@pytest.mark.parametrize("path", ["/", "/ws", "/some/path", "/?x=1", "/healthz"])
def test_ws_upgrade_on_any_path_gets_challenge(gw: Gateway, path: str) -> None:
    c = Client(gw.url + path)
    try:
        assert c.challenge["type"] == "event" and c.challenge["event"] == "connect.challenge"
        assert c.hello()["ok"] is True
    finally:
        c.close()


def test_http_and_ws_share_the_port(gw: Gateway) -> None:
    c = Client(gw.url)
    try:
        assert c.hello()["ok"] is True
        assert http(gw, "/healthz").status == 200
        assert c.call("health")["ok"] is True
    finally:
        c.close()
