"""The WebSocket handshake and frame rules (spec §1 frames/close codes, §2 handshake), against a real gateway.

Most tests share one module-scoped token-auth gateway (each test opens its own sockets);
password mode and a short handshake timeout need gateways of their own.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ..harness import TOKEN, Gateway, Home
from ..wsclient import Client, connect_params, open_client

PASSWORD = "pw-correct-horse-battery-staple-42"
REQUIRED_METHODS = [
    "health", "status", "system-presence", "system-event", "config.get", "logs.tail",
    "sessions.list", "node.list", "channels.status",
]
BASE_EVENTS = ["connect.challenge", "tick", "health", "presence", "shutdown"]


# --------------------------------------------------------------------------- fixtures


def _start(tmp_path_factory: pytest.TempPathFactory, name: str, config: dict[str, Any] | None = None,
           **env: str) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp(name))
    home.write_config(config if config is not None else home.default_config())
    gw = Gateway(home, ["--port", "0"], env=home.env(**env))
    try:
        gw.start()
        gw.wait_ready()
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from _start(tmp_path_factory, "hs-token")


@pytest.fixture(scope="module")
def pw_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home_cfg = {
        "gateway": {"mode": "local", "auth": {"mode": "password", "password": PASSWORD}},
    }
    yield from _start(tmp_path_factory, "hs-password", home_cfg)


@pytest.fixture(scope="module")
def quick_gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from _start(tmp_path_factory, "hs-timeout", None, OPENCLAW_HANDSHAKE_TIMEOUT_MS="300")


# --------------------------------------------------------------------------- helpers


def until_closed(c: Client, timeout: float = 5.0) -> tuple[list[dict[str, Any]], int | None, str | None]:
    """Read frames until the server closes; return (frames, close code, close reason)."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"socket still open after {timeout}s; frames seen: {frames}")
        try:
            raw = c.ws.recv(timeout=remaining)
        except TimeoutError:
            raise AssertionError(f"socket still open after {timeout}s; frames seen: {frames}") from None
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            return frames, (rcvd.code if rcvd else None), (rcvd.reason if rcvd else None)
        frames.append(json.loads(raw))


def responses(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("type") == "res"]


def rejected(url: str, frame: Any) -> tuple[list[dict[str, Any]], int | None, str | None]:
    """Open a socket, send `frame` as the first frame, and collect what comes back until the close."""
    c = Client(url)
    try:
        c.send(frame)
        return until_closed(c)
    finally:
        c.close()


def connect_frame(params: Any, req_id: str = "c1") -> dict[str, Any]:
    return {"type": "req", "id": req_id, "method": "connect", "params": params}


def assert_open(c: Client) -> None:
    """The socket still answers requests."""
    res = c.call("health")
    assert res["ok"] is True, res


# --------------------------------------------------------------------------- challenge


def test_challenge_is_first_with_uuid_nonce_and_integer_ts(gw: Gateway) -> None:
    before = int(time.time() * 1000)
    c = Client(gw.url)
    try:
        ch = c.challenge
        assert ch["type"] == "event" and ch["event"] == "connect.challenge", ch
        assert "seq" not in ch, ch
        nonce = ch["payload"]["nonce"]
        assert str(uuid.UUID(nonce)) == nonce.lower()
        ts = ch["payload"]["ts"]
        assert isinstance(ts, int) and not isinstance(ts, bool)
        assert before - 5000 <= ts <= int(time.time() * 1000) + 5000
    finally:
        c.close()


def test_each_connection_gets_its_own_nonce(gw: Gateway) -> None:
    a, b = Client(gw.url), Client(gw.url)
    try:
        assert a.challenge["payload"]["nonce"] != b.challenge["payload"]["nonce"]
    finally:
        a.close()
        b.close()


def test_connect_sent_before_reading_challenge_still_gets_challenge_first(gw: Gateway) -> None:
    with connect(gw.url, compression=None, max_size=None, open_timeout=10) as ws:
        ws.send(json.dumps(connect_frame(connect_params())))
        first = json.loads(ws.recv(timeout=10))
        second = json.loads(ws.recv(timeout=10))
    assert first["event"] == "connect.challenge", first
    assert second["type"] == "res" and second["id"] == "c1" and second["ok"] is True, second
    assert second["payload"]["type"] == "hello-ok"


def test_ws_upgrade_on_any_path_gets_challenge(gw: Gateway) -> None:
    c = Client(gw.url + "/some/path?x=1")
    try:
        assert c.challenge["event"] == "connect.challenge"
        assert c.hello()["ok"] is True
    finally:
        c.close()


# --------------------------------------------------------------------------- bad first frames


def test_first_request_not_connect_is_rejected_1008(gw: Gateway) -> None:
    frames, code, reason = rejected(gw.url, {"type": "req", "id": "r1", "method": "health"})
    res = responses(frames)
    assert len(res) == 1, frames
    assert res[0]["id"] == "r1" and res[0]["ok"] is False
    assert res[0]["error"]["code"] == "INVALID_REQUEST"
    assert res[0]["error"]["message"] == "invalid handshake: first request must be connect"
    assert code == 1008
    assert reason == "invalid handshake: first request must be connect"


def test_first_frame_event_is_closed_1008_without_reply(gw: Gateway) -> None:
    frames, code, reason = rejected(gw.url, {"type": "event", "event": "tick", "payload": {"ts": 1}})
    assert responses(frames) == []
    assert code == 1008
    assert reason == "invalid request frame"


@pytest.mark.parametrize("payload", ["{not json", b"\x00\x01binary"], ids=["malformed-json", "binary"])
def test_first_frame_not_json_is_closed_1000(gw: Gateway, payload: str | bytes) -> None:
    frames, code, reason = rejected(gw.url, payload)
    assert responses(frames) == []
    assert code == 1000
    assert reason == ""


def test_preauth_frame_over_64k_is_closed_1009(gw: Gateway) -> None:
    params = connect_params()
    params["userAgent"] = "x" * 70_000  # a valid connect, only too big before auth
    frame = json.dumps(connect_frame(params))
    assert len(frame) > 65_536
    frames, code, _ = rejected(gw.url, frame)
    assert responses(frames) == []
    assert code == 1009


def test_preauth_frame_just_under_64k_is_accepted(gw: Gateway) -> None:
    params = connect_params()
    params["userAgent"] = ""
    base = len(json.dumps(connect_frame(params)))
    params["userAgent"] = "x" * (65_000 - base)
    c = Client(gw.url)
    try:
        c.send(connect_frame(params))
        res = c.response("c1")
        assert res["ok"] is True, res
    finally:
        c.close()


# --------------------------------------------------------------------------- connect params


def _assert_invalid_params(frames: list[dict[str, Any]], code: int | None, reason: str | None,
                           where: str | None = None) -> None:
    res = responses(frames)
    assert len(res) == 1, frames
    err = res[0]["error"]
    assert res[0]["ok"] is False and err["code"] == "INVALID_REQUEST", res[0]
    assert err["message"].startswith("invalid connect params"), err
    if where:
        assert where in err["message"], err
    assert code == 1008
    assert reason and reason.startswith("invalid connect params")
    assert err["message"].startswith(reason), (reason, err["message"])


def test_unknown_key_in_connect_params_is_rejected(gw: Gateway) -> None:
    params = connect_params()
    params["bogusKey"] = True
    _assert_invalid_params(*rejected(gw.url, connect_frame(params)))


def test_unknown_client_id_is_rejected(gw: Gateway) -> None:
    params = connect_params(client_id="definitely-not-a-client")
    frames, code, reason = rejected(gw.url, connect_frame(params))
    _assert_invalid_params(frames, code, reason, where="/client/id")
    assert responses(frames)[0]["error"]["message"] == (
        "invalid connect params: at /client/id: must be equal to one of the allowed values"
    )


def test_missing_client_is_rejected(gw: Gateway) -> None:
    params = connect_params()
    del params["client"]
    _assert_invalid_params(*rejected(gw.url, connect_frame(params)))


def test_params_not_an_object_is_rejected(gw: Gateway) -> None:
    _assert_invalid_params(*rejected(gw.url, connect_frame("hello")))


def test_client_id_is_case_insensitive(gw: Gateway) -> None:
    c = open_client(gw.url, client_id="CLI")
    c.close()


# --------------------------------------------------------------------------- protocol range


def test_protocol_range_without_4_is_mismatch_1002(gw: Gateway) -> None:
    params = connect_params(minProtocol=5, maxProtocol=5)
    frames, code, reason = rejected(gw.url, connect_frame(params))
    res = responses(frames)
    assert len(res) == 1, frames
    err = res[0]["error"]
    assert err["code"] == "INVALID_REQUEST" and err["message"] == "protocol mismatch"
    assert err["details"] == {
        "code": "PROTOCOL_MISMATCH", "clientMinProtocol": 5, "clientMaxProtocol": 5,
        "expectedProtocol": 4, "minimumProbeProtocol": 3,
    }
    assert code == 1002
    assert reason == "protocol mismatch"


def test_wide_protocol_range_negotiates_4(gw: Gateway) -> None:
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(minProtocol=3, maxProtocol=9))
        assert res["ok"] is True and res["payload"]["protocol"] == 4, res
    finally:
        c.close()


@pytest.mark.parametrize("client_id", ["openclaw-probe", "cli"])
def test_probe_mode_accepts_protocol_3_to_4(gw: Gateway, client_id: str) -> None:
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(client_id=client_id, mode="probe", minProtocol=3, maxProtocol=4))
        assert res["ok"] is True, res
        assert res["payload"]["type"] == "hello-ok" and res["payload"]["protocol"] == 4
    finally:
        c.close()


def test_probe_mode_accepts_protocol_3_only(gw: Gateway) -> None:
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(client_id="openclaw-probe", mode="probe", minProtocol=3, maxProtocol=3))
        assert res["ok"] is True, res
    finally:
        c.close()


def test_protocol_3_only_is_mismatch_for_cli_mode(gw: Gateway) -> None:
    frames, code, _ = rejected(gw.url, connect_frame(connect_params(minProtocol=3, maxProtocol=3)))
    res = responses(frames)
    assert res and res[0]["error"]["details"]["code"] == "PROTOCOL_MISMATCH", frames
    assert code == 1002


# --------------------------------------------------------------------------- auth


def test_wrong_token_is_rejected_1008(gw: Gateway) -> None:
    frames, code, reason = rejected(gw.url, connect_frame(connect_params(token="not-the-token")))
    res = responses(frames)
    assert len(res) == 1, frames
    err = res[0]["error"]
    assert err["code"] == "INVALID_REQUEST"
    assert err["message"].startswith("unauthorized: gateway token mismatch"), err
    assert err["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    assert err["details"]["authReason"] == "token_mismatch"
    assert code == 1008
    assert reason == err["message"]


def test_wrong_token_hint_depends_on_client(gw: Gateway) -> None:
    """§4: for `cli` on loopback the hint names gateway.auth.token; for other ids it says 'provide gateway auth token'."""
    f1, _, _ = rejected(gw.url, connect_frame(connect_params(token="nope")))
    f2, _, _ = rejected(gw.url, connect_frame(connect_params(token="nope", client_id="test", mode="test")))
    assert responses(f1)[0]["error"]["message"] == (
        "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)"
    )
    assert responses(f2)[0]["error"]["message"] == "unauthorized: gateway token mismatch (provide gateway auth token)"


def test_no_credentials_no_device_is_not_paired(gw: Gateway) -> None:
    frames, code, reason = rejected(gw.url, connect_frame(connect_params(token=None)))
    res = responses(frames)
    assert len(res) == 1, frames
    err = res[0]["error"]
    assert err["code"] == "NOT_PAIRED"
    assert err["message"] == "device identity required"
    assert err["details"]["code"] == "DEVICE_IDENTITY_REQUIRED"
    assert code == 1008
    assert reason == "device identity required"


def test_right_token_in_password_field_is_accepted(gw: Gateway) -> None:
    """§2.3: either wire field may carry the configured secret."""
    c = Client(gw.url)
    try:
        params = connect_params(token=None)
        params["auth"] = {"password": TOKEN}
        res = c.call("connect", params)
        assert res["ok"] is True, res
    finally:
        c.close()


def test_password_mode_right_password_gets_hello_ok(pw_gw: Gateway) -> None:
    c = Client(pw_gw.url)
    try:
        params = connect_params(token=None)
        params["auth"] = {"password": PASSWORD}
        res = c.call("connect", params)
        assert res["ok"] is True, res
        assert res["payload"]["type"] == "hello-ok"
        assert res["payload"]["auth"]["method"] == "password"
        assert_open(c)
    finally:
        c.close()


def test_password_mode_wrong_password_is_rejected(pw_gw: Gateway) -> None:
    params = connect_params(token=None)
    params["auth"] = {"password": "wrong-password"}
    frames, code, reason = rejected(pw_gw.url, connect_frame(params))
    res = responses(frames)
    assert len(res) == 1, frames
    err = res[0]["error"]
    assert err["code"] == "INVALID_REQUEST"
    assert err["details"]["code"] == "AUTH_PASSWORD_MISMATCH"
    assert code == 1008
    assert reason == err["message"]


def test_password_mode_rejects_the_token_of_token_mode(pw_gw: Gateway) -> None:
    frames, code, _ = rejected(pw_gw.url, connect_frame(connect_params(token=TOKEN)))
    res = responses(frames)
    assert res and res[0]["ok"] is False, frames
    assert code == 1008


# --------------------------------------------------------------------------- hello-ok


@pytest.fixture(scope="module")
def hello(gw: Gateway) -> dict[str, Any]:
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(scopes=["operator.read", "operator.write", "operator.admin"]))
    finally:
        c.close()
    assert res["ok"] is True, res
    return res["payload"]


def test_hello_ok_has_schema_required_fields(hello: dict[str, Any]) -> None:
    assert hello["type"] == "hello-ok"
    assert hello["protocol"] == 4
    assert isinstance(hello["server"]["version"], str) and hello["server"]["version"]
    assert str(uuid.UUID(hello["server"]["connId"])) == hello["server"]["connId"].lower()
    snap = hello["snapshot"]
    assert isinstance(snap["presence"], list)
    assert isinstance(snap["health"], dict) and snap["health"]
    sv = snap["stateVersion"]
    assert isinstance(sv["presence"], int) and isinstance(sv["health"], int)
    assert isinstance(snap["uptimeMs"], int) and snap["uptimeMs"] >= 0
    assert hello["auth"]["role"] == "operator"
    assert isinstance(hello["auth"]["scopes"], list)
    assert hello["policy"]["maxPayload"] == 26_214_400
    assert hello["policy"]["maxBufferedBytes"] == 8 * 1024 * 1024  # what we enforce (R11), not upstream's 50 MiB
    assert hello["policy"]["tickIntervalMs"] == 30_000


def test_hello_ok_advertises_methods_and_events(hello: dict[str, Any]) -> None:
    methods, events = hello["features"]["methods"], hello["features"]["events"]
    assert all(isinstance(m, str) for m in methods) and all(isinstance(e, str) for e in events)
    missing = [m for m in REQUIRED_METHODS if m not in methods]
    assert not missing, f"hello-ok.features.methods lacks {missing}"
    missing_ev = [e for e in BASE_EVENTS if e not in events]
    assert not missing_ev, f"hello-ok.features.events lacks {missing_ev}"
    assert len(set(methods)) == len(methods)


def test_hello_ok_snapshot_presence_has_gateway_self(hello: dict[str, Any]) -> None:
    selfs = [p for p in hello["snapshot"]["presence"] if p.get("mode") == "gateway" and p.get("reason") == "self"]
    assert len(selfs) == 1, hello["snapshot"]["presence"]


def test_hello_ok_admin_snapshot_has_config_path(gw: Gateway, hello: dict[str, Any]) -> None:
    snap = hello["snapshot"]
    assert snap["configPath"] == str(gw.home.config_path)
    assert snap["authMode"] == "token"


def test_read_only_hello_omits_admin_snapshot_fields(gw: Gateway) -> None:
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(scopes=["operator.read"]))
    finally:
        c.close()
    snap = res["payload"]["snapshot"]
    assert "configPath" not in snap and "stateDir" not in snap and "authMode" not in snap, snap.keys()


def test_each_connection_gets_its_own_conn_id(gw: Gateway) -> None:
    c1, c2 = Client(gw.url), Client(gw.url)
    try:
        h1 = c1.hello()["payload"]["server"]["connId"]
        h2 = c2.hello()["payload"]["server"]["connId"]
    finally:
        c1.close()
        c2.close()
    assert h1 != h2


@pytest.mark.parametrize(
    "requested, granted",
    [
        (["operator.read"], ["operator.read"]),
        (["operator.read", "operator.write", "operator.admin"], ["operator.read", "operator.write", "operator.admin"]),
        (["operator.pairing", "not.a.scope", "operator.read", "bogus"], ["operator.pairing", "operator.read"]),
        ([], []),
    ],
    ids=["read", "rwa", "unknown-dropped", "empty"],
)
def test_granted_scopes_equal_requested(gw: Gateway, requested: list[str], granted: list[str]) -> None:
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(scopes=requested))
    finally:
        c.close()
    assert res["ok"] is True, res
    assert sorted(res["payload"]["auth"]["scopes"]) == sorted(granted)


def test_omitted_scopes_grant_nothing(gw: Gateway) -> None:
    params = connect_params()
    del params["scopes"]
    c = Client(gw.url)
    try:
        res = c.call("connect", params)
        assert res["ok"] is True, res
        assert res["payload"]["auth"]["scopes"] == []
        forbidden = c.call("status")
        assert forbidden["ok"] is False and forbidden["error"]["code"] == "FORBIDDEN", forbidden
    finally:
        c.close()


@pytest.mark.parametrize(
    "client_id, mode",
    [("test", "test"), ("openclaw-probe", "probe"), ("cli", "probe"), ("cli", "backend"), ("gateway-client", "cli"),
     ("openclaw-tui", "cli"), ("node-host", "cli")],
)
def test_device_less_clients_other_than_the_two_local_exceptions_get_no_scopes(gw: Gateway, client_id: str, mode: str) -> None:
    """Spec §2.6: a shared-secret operator without a device keeps its scopes only as cli/cli or
    gateway-client/backend; probe, test and mismatched id/mode pairs are cleared to [] (health still works)."""
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(client_id=client_id, mode=mode, scopes=["operator.admin"]))
        assert res["ok"] is True, res
        assert res["payload"]["auth"]["scopes"] == []
        assert "configPath" not in res["payload"]["snapshot"]
        assert c.call("health")["ok"] is True
        denied = c.call("status")
        assert denied["error"]["code"] == "FORBIDDEN"
        assert denied["error"]["details"] == {"code": "MISSING_SCOPE", "missingScope": "operator.read", "requiredScopes": ["operator.read"]}
    finally:
        c.close()


def test_a_browser_origin_takes_away_the_local_exception(gw: Gateway) -> None:
    """cli/cli keeps its scopes only without a browser Origin (a page on the gateway's own origin)."""
    from websockets.sync.client import connect as ws_connect

    with ws_connect(gw.url, origin=f"http://127.0.0.1:{gw.port}", compression=None) as ws:
        json.loads(ws.recv())
        ws.send(json.dumps({"type": "req", "id": "c", "method": "connect", "params": connect_params(scopes=["operator.admin"])}))
        res = json.loads(ws.recv())
        assert res["ok"] is True, res
        assert res["payload"]["auth"]["scopes"] == []


def test_gateway_client_backend_keeps_scopes(gw: Gateway) -> None:
    c = Client(gw.url)
    try:
        res = c.call("connect", connect_params(client_id="gateway-client", mode="backend", scopes=["operator.read"]))
        assert res["ok"] is True, res
        assert res["payload"]["auth"]["scopes"] == ["operator.read"]
    finally:
        c.close()


# --------------------------------------------------------------------------- after hello


def _presence_list(payload: Any) -> list[dict[str, Any]]:
    return payload if isinstance(payload, list) else payload["presence"]


def test_first_event_is_health_seq_1_then_contiguous(gw: Gateway) -> None:
    a = open_client(gw.url)
    b = None
    try:
        assert a.events == [], a.events  # nothing between the challenge and hello-ok
        first = a.recv()
        assert first["type"] == "event" and first["event"] == "health", first
        assert first["seq"] == 1
        assert isinstance(first["stateVersion"]["health"], int)
        events = [first]

        def until_presence(pred: Any) -> None:
            deadline = time.monotonic() + 5
            while True:
                f = a.recv(timeout=max(0.05, deadline - time.monotonic()))
                assert f["type"] == "event", f
                events.append(f)
                if f["event"] == "presence" and pred(_presence_list(f["payload"])):
                    return

        # Cause broadcasts: a presence-visible client joins, then leaves.
        b = open_client(gw.url, client_id="test", mode="test")
        until_presence(lambda entries: any(e.get("mode") == "test" for e in entries))
        b.close()
        until_presence(lambda entries: not any(e.get("mode") == "test" for e in entries))
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)), seqs
        assert len(seqs) >= 3
    finally:
        a.close()
        if b is not None:
            b.close()


def test_seq_restarts_at_1_on_reconnect(gw: Gateway) -> None:
    for _ in range(2):
        c = open_client(gw.url)
        try:
            assert c.recv()["seq"] == 1
        finally:
            c.close()


def test_second_connect_is_rejected_and_socket_stays_open(gw: Gateway) -> None:
    c = open_client(gw.url)
    try:
        res = c.call("connect", connect_params())
        assert res["ok"] is False
        assert res["error"]["code"] == "INVALID_REQUEST"
        assert res["error"]["message"] == "connect is only valid as the first request"
        assert_open(c)
    finally:
        c.close()


def test_malformed_json_after_hello_gets_an_error_frame_and_stays_open(gw: Gateway) -> None:
    """Upstream ignores it; we answer every input (spec S6)."""
    c = open_client(gw.url)
    try:
        c.send("{this is not json")
        res = c.response("invalid")
        assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
        assert res["error"]["message"].startswith("invalid request frame: not JSON"), res
        assert_open(c)
    finally:
        c.close()


def test_numeric_id_without_method_gets_res_with_that_id(gw: Gateway) -> None:
    c = open_client(gw.url)
    try:
        c.send({"type": "req", "id": 5})
        res = c.response(5)
        assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
        assert_open(c)
    finally:
        c.close()


def test_string_id_invalid_frame_echoes_id(gw: Gateway) -> None:
    c = open_client(gw.url)
    try:
        c.send({"type": "req", "id": "bad-1", "method": "health", "unexpected": 1})
        res = c.response("bad-1")
        assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
        assert_open(c)
    finally:
        c.close()


@pytest.mark.parametrize("frame", ["[1, 2, 3]", '"just a string"', "42", "null"])
def test_non_object_frame_gets_res_id_invalid(gw: Gateway, frame: str) -> None:
    c = open_client(gw.url)
    try:
        c.send(frame)
        res = c.response("invalid")
        assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
        assert_open(c)
    finally:
        c.close()


def test_pipelined_requests_each_answered_exactly_once(gw: Gateway) -> None:
    methods = ["health", "status", "system-presence", "node.list", "sessions.list", "channels.status",
               "config.get", "logs.tail", "no.such.method", "health"]
    c = open_client(gw.url)
    try:
        ids = [f"p{i}" for i in range(20)]
        for i, rid in enumerate(ids):
            c.request(methods[i % len(methods)], req_id=rid)
        sentinel = c.request("health", req_id="sentinel")
        seen: list[Any] = []
        deadline = time.monotonic() + 15
        while "sentinel" not in seen or not set(ids) <= set(seen):
            assert time.monotonic() < deadline, f"missing answers: {set(ids) - set(seen)}"
            f = c.recv(timeout=max(0.1, deadline - time.monotonic()))
            if f.get("type") == "res":
                seen.append(f["id"])
        # Anything still in flight would show up before a fresh request's answer.
        late = c.request("health", req_id="late")
        while True:
            f = c.recv()
            if f.get("type") == "res":
                seen.append(f["id"])
                if f["id"] == late:
                    break
        counts = {rid: seen.count(rid) for rid in ids + [sentinel, late]}
        assert all(n == 1 for n in counts.values()), counts
        assert set(seen) == set(ids) | {sentinel, late}
    finally:
        c.close()


def test_duplicate_request_ids_are_both_answered(gw: Gateway) -> None:
    c = open_client(gw.url)
    try:
        c.request("health", req_id="dup")
        c.request("health", req_id="dup")
        a = c.response("dup")
        b = c.response("dup")
        assert a["ok"] and b["ok"]
    finally:
        c.close()


def test_2mb_request_after_auth_is_accepted(gw: Gateway) -> None:
    c = open_client(gw.url)
    try:
        c.send({"type": "req", "id": "big", "method": "health", "params": {"pad": "x" * (2 * 1024 * 1024)}})
        res = c.response("big", timeout=15)
        assert res["id"] == "big"
        assert_open(c)
    finally:
        c.close()


class RawWS:
    """A bare client socket, so reading the server's close frame never races our own writes
    (websockets' client drops a received close frame if its send fails first)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the TCP connection")
        self.buf += data

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            self._fill()

    def recv_frame(self) -> tuple[int, bytes]:
        self._need(2)
        n, off = self.buf[1] & 0x7F, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n)
        opcode, payload = self.buf[0] & 0x0F, self.buf[off : off + n]
        self.buf = self.buf[off + n :]
        return opcode, payload

    @staticmethod
    def text_frame(payload: bytes) -> bytes:
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        return head + b"\0\0\0\0" + payload  # a zero mask key leaves the payload as is

    def send_json(self, obj: Any) -> None:
        self.sock.sendall(self.text_frame(json.dumps(obj).encode()))


def test_frame_over_max_payload_is_closed_1009(gw: Gateway) -> None:
    ws = RawWS(gw.port)
    try:
        assert b"connect.challenge" in ws.recv_frame()[1]
        ws.send_json(connect_frame(connect_params()))
        assert b"hello-ok" in ws.recv_frame()[1]
        big = ws.text_frame(
            json.dumps({"type": "req", "id": "huge", "method": "health", "params": {"pad": "x" * 26_300_000}}).encode()
        )
        assert len(big) > 26_214_400

        def send() -> None:
            try:
                ws.sock.sendall(big)
            except OSError:
                pass  # the server hangs up while we are still writing

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        seen: list[bytes] = []
        code: int | None = None
        try:
            while True:
                opcode, payload = ws.recv_frame()
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0]
                    break
                seen.append(payload)
        except (EOFError, OSError) as exc:
            raise AssertionError(f"connection ended without a close frame ({exc!r})") from None
        sender.join(10)
        assert code == 1009
        assert not any(b'"huge"' in p for p in seen), "the oversized request was answered"
    finally:
        ws.sock.close()


# --------------------------------------------------------------------------- handshake timeout


def test_no_connect_within_handshake_timeout_is_closed(quick_gw: Gateway) -> None:
    c = Client(quick_gw.url)
    try:
        started = time.monotonic()
        frames, code, reason = until_closed(c, timeout=5)
        elapsed = time.monotonic() - started
        assert frames == []
        assert code == 1000 and reason == ""
        assert elapsed < 3, f"closed after {elapsed:.2f}s; OPENCLAW_HANDSHAKE_TIMEOUT_MS=300 not honoured"
    finally:
        c.close()


def test_prompt_connect_beats_short_handshake_timeout(quick_gw: Gateway) -> None:
    c = open_client(quick_gw.url)
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # stays usable well past the 300 ms pre-auth window
            assert_open(c)
    finally:
        c.close()


# --------------------------------------------------------------------------- hostile input


def test_deeply_nested_frames_get_an_error_frame_before_and_after_auth(gw: Gateway) -> None:
    c = Client(gw.url)
    try:  # pre-auth: 30,000 levels inside 64 KiB
        c.send('{"type":"req","id":"c","method":"connect","params":{"a":' + "[" * 30000 + "]" * 30000 + "}}")
        with pytest.raises(ConnectionClosed):
            c.recv()
        assert c.ws.close_code in (1000, 1008)
    finally:
        c.close()
    c = open_client(gw.url)
    try:  # after hello: the connection stays and the next request is answered
        for method in ("health", "sessions.list"):
            c.send('{"type":"req","id":"d","method":"%s","params":' % method + "[" * 100000 + "]" * 100000 + "}")
            res = c.response("invalid")
            assert res["error"] == {"code": "INVALID_REQUEST", "message": "invalid request frame: nested too deeply"}
        assert c.call("health")["ok"]
    finally:
        c.close()
    assert "Traceback" not in gw.output()


def test_presence_is_bounded(gw: Gateway) -> None:
    c = open_client(gw.url)
    try:
        for i in range(300):
            assert c.call("system-event", {"text": "y" * 4096, "instanceId": f"inst-{i}-" + "z" * 240})["ok"]
        entries = c.call("system-presence")["payload"]
        too_long = c.call("system-event", {"text": "y" * 4097})
    finally:
        c.close()
    assert len(entries) <= 257  # 256 entries at most, plus the gateway's own
    assert max(len(json.dumps(e)) for e in entries) <= 16 * 1024
    assert entries[-1]["instanceId"].startswith("inst-299-")  # the newest kept, the oldest evicted
    assert not any(e.get("instanceId", "").startswith("inst-0-") for e in entries)
    assert too_long["error"] == {
        "code": "INVALID_REQUEST", "message": "invalid system-event params: at /text: must NOT have more than 4096 characters",
    }
