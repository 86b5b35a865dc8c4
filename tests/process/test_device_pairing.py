"""Device identity and pairing (spec §2.5, §2.6): signatures verified, loopback devices paired
silently and given a device token, remote devices (behind a trusted proxy) wait for an operator,
tokens stored hashed and surviving a restart, rotation/revocation/removal closing sockets."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from ..device_identity import DeviceIdentity
from ..harness import Gateway, Home, running_gateway
from ..wsclient import Client, connect_params, open_client

REMOTE = {"X-Forwarded-For": "198.51.100.7"}  # a header only: nothing is ever sent there


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("pairing"))
    home.write_config(home.default_config(trustedProxies=["127.0.0.1/32", "::1/128"]))
    with running_gateway(home) as gw:
        yield gw


def device_connect(gw: Gateway, dev: DeviceIdentity, *, headers: dict[str, str] | None = None, version: str = "v3",
                   sign: dict[str, Any] | None = None, **kw: Any) -> tuple[Client, dict[str, Any]]:
    kw.setdefault("client_id", "openclaw-linux")
    kw.setdefault("mode", "ui")
    kw.setdefault("scopes", ["operator.read", "operator.write"])
    c = Client(gw.url, headers=headers)
    params = connect_params(**kw)
    params["client"]["deviceFamily"] = "Linux"
    params = dev.sign(params, c.nonce, version=version, **(sign or {}))
    return c, c.call("connect", params)


def admin(gw: Gateway) -> Client:
    return open_client(gw.url, scopes=["operator.admin"])


def test_loopback_device_with_the_shared_token_is_paired_and_gets_a_device_token(gw: Gateway) -> None:
    dev = DeviceIdentity()
    c, res = device_connect(gw, dev)
    c.close()
    assert res["ok"] is True, res
    auth = res["payload"]["auth"]
    assert auth["method"] == "token" and auth["role"] == "operator"
    assert auth["scopes"] == ["operator.read", "operator.write"]
    assert len(auth["deviceToken"]) == 43 and auth["issuedAtMs"] > 0

    # the device token alone (same key, same scopes) works and says so
    c2, res2 = device_connect(gw, dev, token=None, auth={"deviceToken": auth["deviceToken"]})
    try:
        assert res2["ok"] is True, res2
        assert res2["payload"]["auth"]["method"] == "device-token"
        assert c2.call("status")["ok"] is True
    finally:
        c2.close()

    # asking for more than was paired with the token: refused, 1008
    c3, res3 = device_connect(gw, dev, token=None, auth={"deviceToken": auth["deviceToken"]}, scopes=["operator.admin"])
    assert res3["ok"] is False and res3["error"]["details"]["code"] == "AUTH_SCOPE_MISMATCH"
    assert c3.close_code() == 1008

    # another device cannot use it
    c4, res4 = device_connect(gw, DeviceIdentity(), token=None, auth={"deviceToken": auth["deviceToken"]})
    assert res4["error"]["details"]["code"] == "AUTH_DEVICE_TOKEN_MISMATCH"
    c4.close()

    a = admin(gw)
    try:
        listed = a.call("device.pair.list")["payload"]
        mine = [d for d in listed["paired"] if d["deviceId"] == dev.device_id]
        assert mine and mine[0]["scopes"] == ["operator.read", "operator.write"] and mine[0]["roles"] == ["operator"]
    finally:
        a.close()
    # stored hashed: the token's text is nowhere in the store
    db = gw.home.state_dir / "pairing.sqlite"
    blob = b"".join(p.read_bytes() for p in db.parent.glob("pairing.sqlite*"))
    assert auth["deviceToken"].encode() not in blob
    assert oct(db.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "case, code",
    [
        ("bad-signature", "DEVICE_AUTH_SIGNATURE_INVALID"),
        ("wrong-nonce", "DEVICE_AUTH_NONCE_MISMATCH"),
        ("expired", "DEVICE_AUTH_SIGNATURE_EXPIRED"),
        ("id-mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH"),
        ("signed-other-scopes", "DEVICE_AUTH_SIGNATURE_INVALID"),
    ],
)
def test_bad_device_proofs_are_refused_with_their_code(gw: Gateway, case: str, code: str) -> None:
    dev = DeviceIdentity()
    c = Client(gw.url)
    params = connect_params(client_id="openclaw-linux", mode="ui", scopes=["operator.read"])
    if case == "bad-signature":
        params = dev.sign(params, c.nonce, payload_override="v3|not|what|was|asked")
    elif case == "wrong-nonce":
        params = dev.sign(params, "00000000-0000-4000-8000-000000000000")
    elif case == "expired":
        params = dev.sign(params, c.nonce, signed_at=int(time.time() * 1000) - 130_000)
    elif case == "id-mismatch":
        params = dev.sign(params, c.nonce)
        params["device"]["id"] = DeviceIdentity().device_id
    elif case == "signed-other-scopes":
        params = dev.sign(params, c.nonce)
        params["scopes"] = ["operator.admin"]  # the proof covered operator.read only
    res = c.call("connect", params)
    assert res["ok"] is False
    assert res["error"]["code"] == "INVALID_REQUEST" and res["error"]["details"]["code"] == code, res
    assert c.close_code() == 1008


def test_v2_signatures_still_work(gw: Gateway) -> None:
    c, res = device_connect(gw, DeviceIdentity(), version="v2")
    c.close()
    assert res["ok"] is True, res


def test_without_credentials_or_device_identity_required(gw: Gateway) -> None:
    c = Client(gw.url)
    res = c.call("connect", connect_params(token=None))
    assert res["error"]["code"] == "NOT_PAIRED" and res["error"]["details"]["code"] == "DEVICE_IDENTITY_REQUIRED"
    assert c.close_code() == 1008
    c = Client(gw.url)
    res = c.call("connect", connect_params(client_id="openclaw-control-ui", mode="ui"))
    assert res["error"]["details"]["code"] == "CONTROL_UI_DEVICE_IDENTITY_REQUIRED"
    assert c.close_code() == 1008


def test_control_ui_on_a_page_this_gateway_served_over_loopback_is_paired_like_the_cli(gw: Gateway) -> None:
    """The Control UI in a browser on this machine (Origin = this gateway's loopback origin) with the
    shared token is paired at once; the same browser on a page another origin served waits for approval."""
    own = {"Origin": f"http://127.0.0.1:{gw.port}"}
    dev = DeviceIdentity()
    c, res = device_connect(gw, dev, headers=own, client_id="openclaw-control-ui", mode="webchat",
                            scopes=["operator.admin", "operator.read"])
    try:
        assert res["ok"] is True, res
        assert res["payload"]["auth"]["scopes"] == ["operator.admin", "operator.read"] and res["payload"]["auth"]["deviceToken"]
        assert c.call("config.get")["ok"] is True
    finally:
        c.close()
    # a proxy-forwarded browser is not on this machine: it waits for an operator
    c, res = device_connect(gw, DeviceIdentity(), headers={**own, **REMOTE},
                            client_id="openclaw-control-ui", mode="webchat")
    c.close()
    assert res["ok"] is False and res["error"]["details"]["code"] == "PAIRING_REQUIRED", res
    # another loopback port's page cannot even open the socket
    with pytest.raises(InvalidStatus) as refused:
        Client(gw.url, headers={"Origin": f"http://localhost:{gw.port % 65535 + 1}"})
    assert refused.value.response.status_code == 403


def test_a_remote_device_waits_for_an_operator_then_connects(gw: Gateway) -> None:
    watcher = admin(gw)
    dev = DeviceIdentity()
    try:
        c, res = device_connect(gw, dev, headers=REMOTE)
        assert res["ok"] is False and res["error"]["code"] == "NOT_PAIRED", res
        details = res["error"]["details"]
        assert details["code"] == "PAIRING_REQUIRED" and details["reason"] == "not-paired"
        assert c.close_code() == 1008
        requested = watcher.next_event("device.pair.requested")["payload"]
        assert requested["requestId"] == details["requestId"] and requested["deviceId"] == dev.device_id
        assert requested["remoteIp"] == "198.51.100.7"
        pending = watcher.call("device.pair.list")["payload"]["pending"]
        assert [p["requestId"] for p in pending if p["deviceId"] == dev.device_id] == [details["requestId"]]

        # a second try before approval finds the same request
        c, again = device_connect(gw, dev, headers=REMOTE)
        c.close()
        assert again["error"]["details"]["requestId"] == details["requestId"]

        approved = watcher.call("device.pair.approve", {"requestId": details["requestId"]})
        assert approved["ok"] is True, approved
        resolved = watcher.next_event("device.pair.resolved")["payload"]
        assert resolved["decision"] == "approved" and resolved["deviceId"] == dev.device_id

        c, res = device_connect(gw, dev, headers=REMOTE)
        try:
            assert res["ok"] is True, res
            assert res["payload"]["auth"]["deviceToken"]
        finally:
            c.close()
        # wider scopes than approved: a new request (scope-upgrade), not a silent grant
        c, res = device_connect(gw, dev, headers=REMOTE, scopes=["operator.admin"])
        c.close()
        assert res["error"]["details"]["reason"] == "scope-upgrade"
        assert watcher.call("device.pair.reject", {"requestId": res["error"]["details"]["requestId"]})["ok"] is True
        assert watcher.call("device.pair.reject", {"requestId": "nope"})["error"]["message"] == "unknown requestId"
    finally:
        watcher.close()


def test_forwarded_headers_from_an_untrusted_peer_are_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_gateway(Home(tmp_path_factory.mktemp("untrusted"))) as gw:
        c = Client(gw.url, headers=REMOTE)
        res = c.call("connect", connect_params())
        assert res["ok"] is False and res["error"]["details"]["code"] == "PROXY_ATTRIBUTION_REQUIRED", res


def test_removing_a_device_closes_it_4001_and_its_token_stops_working(gw: Gateway) -> None:
    dev = DeviceIdentity()
    c, res = device_connect(gw, dev)
    assert res["ok"] is True
    token = res["payload"]["auth"]["deviceToken"]
    a = admin(gw)
    try:
        removed = a.call("device.pair.remove", {"deviceId": dev.device_id})
        assert removed["payload"] == {"deviceId": dev.device_id}
        assert c.close_code() == 4001
        c2, res2 = device_connect(gw, dev, token=None, auth={"deviceToken": token})
        c2.close()
        assert res2["error"]["details"]["code"] == "AUTH_DEVICE_TOKEN_MISMATCH"
    finally:
        a.close()


def test_token_rotation_revokes_the_old_token(gw: Gateway) -> None:
    dev = DeviceIdentity()
    scopes = ["operator.pairing", "operator.read"]
    c, res = device_connect(gw, dev, scopes=scopes)
    old = res["payload"]["auth"]["deviceToken"]
    a = admin(gw)
    try:
        # another operator rotates it: the old token stops working, the new one is not handed out
        by_admin = a.call("device.token.rotate", {"deviceId": dev.device_id, "role": "operator"})["payload"]
        assert by_admin["tokenDelivery"] == "withheld-cross-device" and "token" not in by_admin
        assert c.close_code() == 1008
        c1, r1 = device_connect(gw, dev, token=None, auth={"deviceToken": old}, scopes=scopes)
        c1.close()
        assert r1["error"]["details"]["code"] == "AUTH_DEVICE_TOKEN_MISMATCH"

        # the device rotates its own token (over a shared-secret connection): it gets the new one
        me, hello = device_connect(gw, dev, scopes=scopes)
        assert hello["ok"] is True
        mine = me.call("device.token.rotate", {"deviceId": dev.device_id, "role": "operator"})["payload"]
        assert mine["tokenDelivery"] == "in-band" and len(mine["token"]) == 43
        me.close()
        c2, r2 = device_connect(gw, dev, token=None, auth={"deviceToken": mine["token"]}, scopes=scopes)
        c2.close()
        assert r2["ok"] is True, r2

        revoked = a.call("device.token.revoke", {"deviceId": dev.device_id, "role": "operator"})["payload"]
        assert revoked["deviceId"] == dev.device_id and revoked["revokedAtMs"] > 0
        c3, r3 = device_connect(gw, dev, token=None, auth={"deviceToken": mine["token"]}, scopes=scopes)
        c3.close()
        assert r3["error"]["details"]["code"] == "AUTH_DEVICE_TOKEN_MISMATCH"
        assert a.call("device.token.revoke", {"deviceId": dev.device_id})["error"]["code"] == "INVALID_REQUEST"
    finally:
        a.close()


def test_pairing_events_reach_only_operators_with_the_pairing_scope(gw: Gateway) -> None:
    reader = open_client(gw.url, scopes=["operator.read"])
    pairer = open_client(gw.url, scopes=["operator.pairing"])
    try:
        c, res = device_connect(gw, DeviceIdentity(), headers=REMOTE)
        c.close()
        assert res["error"]["details"]["code"] == "PAIRING_REQUIRED"
        pairer.next_event("device.pair.requested", timeout=5)
        marker = reader.call("health")  # everything sent before this answer has arrived
        assert marker["ok"] is True
        assert not [e for e in reader.events if e.get("event", "").startswith("device.pair")]
        denied = reader.call("device.pair.list")
        assert denied["error"]["details"]["missingScope"] == "operator.pairing"
    finally:
        reader.close()
        pairer.close()


def test_pairings_survive_a_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = Home(tmp_path_factory.mktemp("durable"))
    home.write_config(home.default_config())
    dev = DeviceIdentity()
    with running_gateway(home) as gw:
        c, res = device_connect(gw, dev)
        c.close()
        token = res["payload"]["auth"]["deviceToken"]
    with sqlite3.connect(home.state_dir / "pairing.sqlite") as db:
        assert db.execute("SELECT count(*) FROM devices WHERE device_id=?", (dev.device_id,)).fetchone()[0] == 1
    with running_gateway(home) as gw:
        c, res = device_connect(gw, dev, token=None, auth={"deviceToken": token})
        c.close()
        assert res["ok"] is True and res["payload"]["auth"]["method"] == "device-token", res
