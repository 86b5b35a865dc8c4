"""The authorization policy, device proofs and the auth-failure limiter, without processes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from openclaw.frontend.auth import device_proof, policy
from openclaw.frontend.auth.client_address import parse_trusted, resolve
from openclaw.frontend.auth.principal import Principal
from openclaw.frontend.auth.rate_limit import AuthRateLimiter, Limits, RateLimited
from openclaw.ipc import frames, scopes
from openclaw.ipc.errors import GatewayError

from ..device_identity import DeviceIdentity

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec"


def op(*granted: str, role: str = "operator") -> Principal:
    return Principal(role=role, scopes=tuple(granted), auth_method="token")


def test_the_scope_table_is_the_spec_table() -> None:
    spec = SPEC / "method-scopes.json"
    if not spec.exists():
        pytest.skip("../shared/spec not beside the repo")
    rows = json.loads(spec.read_text())
    assert scopes.method_table() == {r["name"]: r["scope"] for r in rows}


@pytest.mark.parametrize(
    "principal, method, params, error",
    [
        (op(), "health", b"", None),
        (op(role="node"), "health", b"", None),
        (op(), "status", b"", "missing scope: operator.read"),
        (op("operator.read"), "status", b"", None),
        (op("operator.write"), "status", b"", None),  # write implies read
        (op("operator.read"), "send", b"", "missing scope: operator.write"),
        (op("operator.read"), "no.such.method", b"", "missing scope: operator.admin"),  # scope before unknown
        (op("operator.admin"), "config.patch", b"", None),
        (op("operator.write"), "config.patch", b"", "missing scope: operator.admin"),
        (op("operator.write"), "agent", b'{"message":"/reset now"}', "missing scope: operator.admin"),
        (op("operator.write"), "agent", b'{"message":"hello"}', None),
        (op("operator.write"), "node.invoke", b'{"command":"fs.listDir"}', "missing scope: operator.admin"),
        (op("operator.write"), "node.invoke", b'{"command":"browser.proxy.upload.v1"}', "missing scope: operator.admin"),
        (op("operator.write"), "node.invoke", b'{"command":"system.which"}', None),  # admin only to approve it
        (op("operator.write"), "node.invoke", b'{"command":"system.notify"}', None),
        (op("operator.read"), "node.pair.list", b"", "missing scope: operator.pairing"),
        (op("operator.pairing"), "node.pair.list", b"", None),
        (op("operator.admin"), "node.invoke.result", b"", "unauthorized role: operator"),
        (op(role="node"), "node.invoke.result", b"", None),
        (op(role="node"), "status", b"", "unauthorized role: node"),
    ],
)
def test_check_call(principal: Principal, method: str, params: bytes, error: str | None) -> None:
    if error is None:
        policy.check_call(principal, method, params)
        return
    with pytest.raises(GatewayError) as exc:
        policy.check_call(principal, method, params)
    assert exc.value.message == error
    if error.startswith("missing scope"):
        assert exc.value.details == {"code": "MISSING_SCOPE", "missingScope": error.split(": ")[1], "requiredScopes": [error.split(": ")[1]]}


@pytest.mark.parametrize(
    "client_id, mode, local, origin, kept",
    [
        ("cli", "cli", True, False, True),
        ("CLI", "cli", True, False, True),
        ("gateway-client", "backend", True, False, True),
        ("cli", "probe", True, False, False),
        ("openclaw-probe", "probe", True, False, False),
        ("test", "test", True, False, False),
        ("gateway-client", "cli", True, False, False),
        ("cli", "backend", True, False, False),
        ("cli", "cli", False, False, False),  # not loopback
        ("cli", "cli", True, True, False),  # a browser Origin
    ],
)
def test_clearing_rules(client_id: str, mode: str, local: bool, origin: bool, kept: bool) -> None:
    got = policy.scopes_without_device(client_id, mode, ["operator.read", "bogus.scope"], is_local=local, has_origin=origin)
    assert got == (("operator.read",) if kept else ())


def test_events_are_filtered_and_unknown_families_hidden() -> None:
    reader, pairer, node = op("operator.read"), op("operator.pairing"), op(role="node")
    assert policy.may_receive(node, policy.event_scope("tick")) and policy.may_receive(node, policy.event_scope("health"))
    assert not policy.may_receive(node, policy.event_scope("chat"))
    assert policy.may_receive(reader, policy.event_scope("chat"))
    assert not policy.may_receive(reader, policy.event_scope("node.pair.requested"))
    assert policy.may_receive(pairer, policy.event_scope("node.pair.requested"))
    assert not policy.may_receive(op("operator.admin"), policy.event_scope("some.plugin.event"))
    assert not policy.may_receive(op("operator.admin"), policy.event_scope("node.invoke.request"))


def _params(dev: DeviceIdentity, nonce: str, **kw: object) -> frames.ConnectParams:
    raw = {"minProtocol": 4, "maxProtocol": 4, "role": "node", "scopes": [],
           "client": {"id": "node-host", "version": "1", "platform": " Linux ", "deviceFamily": "LİNUX", "mode": "node"},
           "auth": {"token": "T"}, **kw}
    signed = dev.sign(raw, nonce, **({"version": "v2"} if kw.pop("v2", False) else {}))  # type: ignore[arg-type]
    return frames.connect_params_decoder.decode(json.dumps(signed).encode())


def test_v3_payload_lowercases_ascii_only_and_matches_the_spec_layout() -> None:
    dev = DeviceIdentity()
    params = _params(dev, "n-1")
    assert params.device is not None
    v3, v2 = device_proof.signed_payloads(params, dev.device_id, "node", params.device.signedAt, "n-1")
    assert v3 == f"v3|{dev.device_id}|node-host|node|node||{params.device.signedAt}|T|n-1|linux|lİnux"
    assert v2 == f"v2|{dev.device_id}|node-host|node|node||{params.device.signedAt}|T|n-1"
    assert device_proof.verify(params, "node", "n-1", int(time.time() * 1000))[0] == dev.device_id


def test_device_id_is_the_sha256_of_the_raw_key_and_pem_keys_work() -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    dev = DeviceIdentity()
    pem = dev.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    assert device_proof.raw_public_key(pem) == dev.raw
    assert device_proof.device_id_for(dev.raw) == dev.device_id
    for bad in ("", "!!!", device_proof.b64url(b"short")):
        with pytest.raises(device_proof.DeviceProofError) as exc:
            device_proof.raw_public_key(bad)
        assert exc.value.details["code"] == "DEVICE_AUTH_PUBLIC_KEY_INVALID"


def test_limiter_locks_a_key_out_after_ten_failures() -> None:
    lim = AuthRateLimiter(Limits())
    for _ in range(10):
        assert lim.admit("203.0.113.9", exempt=False, now=100.0) == 0
        lim.failed("203.0.113.9", exempt=False, now=100.0)
    with pytest.raises(RateLimited) as exc:
        lim.admit("203.0.113.9", exempt=False, now=101.0)
    assert 298_000 < exc.value.retry_after_ms <= 300_000
    assert lim.admit("203.0.113.10", exempt=False, now=101.0) == 0  # other keys unaffected
    assert lim.admit("203.0.113.9", exempt=False, now=401.0) == 0  # lockout over


def test_limiter_failures_outside_the_window_do_not_count() -> None:
    lim = AuthRateLimiter(Limits(max_attempts=3, window_ms=1000))
    for t in (0.0, 0.5, 2.0, 2.5):
        lim.failed("k", exempt=False, now=t)
    assert lim.admit("k", exempt=False, now=2.6) == 0


def test_loopback_gets_a_growing_delay_and_parallel_attempts_queue() -> None:
    lim = AuthRateLimiter(Limits())
    for _ in range(10):
        lim.failed("127.0.0.1", exempt=True, now=0.0)
    waits = []
    for _ in range(10):  # ten parallel attempts at once
        try:
            waits.append(lim.admit("127.0.0.1", exempt=True, now=1.0))
        except RateLimited:
            waits.append(None)
    judged = [w for w in waits if w is not None]
    assert judged[0] == pytest.approx(0.25) and judged == sorted(judged)
    assert len(judged) <= 4 and waits[-1] is None  # the rest are answered AUTH_RATE_LIMITED at once


def test_limiter_memory_is_bounded() -> None:
    lim = AuthRateLimiter(Limits(), max_keys=10_000)
    for i in range(100_000):
        lim.failed(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", exempt=False, now=float(i))
    assert len(lim) == 10_000


def test_forwarded_addresses_only_from_trusted_proxies() -> None:
    trusted = parse_trusted(["127.0.0.1/32", "10.0.0.0/8", "not-an-ip"])
    direct = resolve("127.0.0.1", {}, trusted)
    assert direct.ip == "127.0.0.1" and direct.is_loopback and not direct.forwarded
    fwd = resolve("127.0.0.1", {"X-Forwarded-For": "198.51.100.1, 10.1.2.3"}, trusted)
    assert fwd.ip == "198.51.100.1" and not fwd.is_loopback and fwd.refused is None
    untrusted = resolve("127.0.0.1", {"X-Forwarded-For": "198.51.100.1"}, [])
    assert untrusted.refused == "proxy_attribution_required" and not untrusted.is_loopback
    assert resolve("::ffff:127.0.0.1", {}, []).is_loopback
