"""Discovery's pure parts: when the advertiser runs, what it announces, the zone file, beacons,
its crash policy and how config changes reach it."""

from __future__ import annotations

import pytest

from openclaw.cli.discover_beacons import Resolved, beacon, collect, render_human
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.discovery_config import resolve_discovery
from openclaw.ipc.faults import FaultSpecError, InjectedFault, parse
from openclaw.supervisor.child import Child
from openclaw.supervisor.policy import Verdict
from openclaw.supervisor.reload_plan import plan_reload
from openclaw.supervisor.specs import ADVERTISER, derive_specs
from openclaw.workers.advertiser.announcement import announced_addresses, build, instance_name, truncate_label
from openclaw.workers.advertiser.zone import escape_label, zone_text


def gw(**kw) -> ResolvedGateway:
    base = dict(
        profile=None, state_dir="/s", config_path="/s/c.json", config_exists=True, config_hash="h", port=18789,
        port_source="config", bind_mode="loopback", bind_hosts=["127.0.0.1", "::1"], auth_mode="token", log_file="/l",
    )
    base.update(kw)
    return ResolvedGateway(**base)


ON = {"discovery": {"mdns": {"mode": "minimal"}}}


@pytest.mark.parametrize(
    ("config", "env", "platform", "container", "mode", "why"),
    [
        ({}, {}, "linux", None, "off", None),  # upstream: the bonjour plugin is darwin-only by default
        ({}, {}, "darwin", None, "minimal", None),
        (ON, {}, "linux", None, "minimal", None),
        (ON, {"OPENCLAW_DISABLE_BONJOUR": "yes"}, "linux", None, "off", "OPENCLAW_DISABLE_BONJOUR=yes"),
        (ON, {}, "linux", "/.dockerenv", "off", "container detected (/.dockerenv)"),
        (ON, {"OPENCLAW_DISABLE_BONJOUR": "0"}, "linux", "/.dockerenv", "minimal", None),
        (ON, {"VITEST": "1"}, "linux", None, "off", "VITEST is set"),
        ({"discovery": {"mdns": {"mode": "off"}}}, {}, "darwin", None, "off", None),
    ],
)
def test_when_mdns_is_on(config, env, platform, container, mode, why) -> None:
    s = resolve_discovery(config, env, platform=platform, container=container)
    assert s.mode == mode
    assert (s.disabled_reason or "").startswith(why or "") and (why is None) == (s.disabled_reason is None)


def test_the_advertiser_process_exists_only_when_needed() -> None:
    env = {"OPENCLAW_DISABLE_BONJOUR": "0"}
    assert "advertiser" not in derive_specs({}, env)  # off on Linux by default (these tests run on Linux)
    assert derive_specs(ON, env)["advertiser"] is ADVERTISER and ADVERTISER.optional
    wide = {"discovery": {"wideArea": {"domain": "openclaw.internal"}}}
    assert resolve_discovery(wide, {}, platform="linux").wide_area_domain == "openclaw.internal."
    assert "advertiser" in derive_specs(wide, {})  # the zone file needs it even with mDNS off
    assert "advertiser" not in derive_specs(wide, {"OPENCLAW_DISABLE_BONJOUR": "1"})


def test_txt_minimal_full_tls_and_reachability(tmp_path) -> None:
    env = {"OPENCLAW_MDNS_HOSTNAME": "vm", "OPENCLAW_SSH_PORT": "2200", "OPENCLAW_CLI_PATH": "/usr/bin/openclaw"}
    a = build("minimal", gw(), {}, env, ["127.0.0.1", "192.0.2.7"])
    assert a.instance_name == "vm (OpenClaw)" and a.hostname == "vm" and a.addresses == ("192.0.2.7",)
    assert a.txt == {"role": "gateway", "gatewayPort": "18789", "lanHost": "vm.local", "displayName": "vm", "transport": "gateway"}
    full = build("full", gw(bind_hosts=["0.0.0.0"]), {}, {**env, "OPENCLAW_TAILNET_DNS": "vm.tail.ts.net"}, [])
    assert full.txt["gatewayDirectReachable"] == "1"
    assert (full.txt["sshPort"], full.txt["cliPath"], full.txt["tailnetDns"]) == ("2200", "/usr/bin/openclaw", "vm.tail.ts.net")
    # a self-signed certificate's SHA-256 (of the DER), as a client pins it
    import datetime as dt
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = tmp_path / "c.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls = build("minimal", gw(), {"gateway": {"tls": {"enabled": True, "certPath": str(pem)}}}, env, [])
    want = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert (tls.txt["gatewayTls"], tls.txt["gatewayTlsSha256"]) == ("1", want)


def test_names_fit_one_dns_label() -> None:
    assert instance_name("My OpenClaw box") == "My OpenClaw box"
    long = instance_name("é" * 40)
    assert len(long.encode()) <= 63 and long.startswith("é")
    assert truncate_label("a" * 70) == "a" * 63
    assert announced_addresses(["10.1.2.3"], ["192.0.2.1"]) == ("10.1.2.3",)
    assert announced_addresses(["127.0.0.1"], ["127.0.0.1"]) == ("127.0.0.1",)


def test_zone_file_records() -> None:
    a = build("minimal", gw(), {}, {"OPENCLAW_MDNS_HOSTNAME": "vm"}, ["100.64.0.5"])
    text = zone_text(a, "openclaw.internal", serial=7)
    assert "$ORIGIN openclaw.internal.\n" in text and "@ IN SOA ns1 hostmaster 7 " in text
    assert "_services._dns-sd._udp IN PTR _openclaw-gw._tcp\n" in text
    assert "_openclaw-gw._tcp IN PTR vm\\ \\(OpenClaw\\)._openclaw-gw._tcp\n" in text
    assert "vm\\ \\(OpenClaw\\)._openclaw-gw._tcp IN SRV 0 0 18789 vm\n" in text
    assert '"role=gateway" "gatewayPort=18789" "lanHost=vm.local" "displayName=vm" "transport=gateway"' in text
    assert "vm IN A 100.64.0.5\n" in text
    assert escape_label('a.b"c;d') == 'a\\.b\\"c\\;d'


def test_beacons_shape_dedupe_and_order() -> None:
    txt = {"role": "gateway", "gatewayPort": "18789", "lanHost": "b.local", "displayName": "b", "transport": "gateway",
           "gatewayTls": "1", "gatewayTlsSha256": "ab" * 32, "sshPort": "22"}
    rb = Resolved("b (OpenClaw)", "local.", "b.local.", 18789, ["fe80::1", "10.0.0.2"], txt)
    ra = Resolved("a (OpenClaw)", "local.", "a.local.", 1234, [], {})
    out = collect([rb, ra, rb])
    assert [b["displayName"] for b in out] == ["a", "b"]
    assert out[0] == {"instanceName": "a (OpenClaw)", "displayName": "a", "domain": "local.", "host": "a.local",
                      "port": 1234, "wsUrl": "ws://a.local:1234"}
    b = beacon(rb)
    assert (b["host"], b["wsUrl"], b["gatewayTls"], b["gatewayPort"], b["sshPort"]) == ("10.0.0.2", "wss://10.0.0.2:18789", True, 18789, 22)
    assert b["gatewayTlsFingerprintSha256"] == "ab" * 32
    assert render_human({"domains": ["local."], "beacons": out})[:2] == ["Gateway Discovery", "Found 2 gateway(s) · domains: local."]


def test_an_optional_child_is_never_given_up_on() -> None:
    child = Child(ADVERTISER)
    delays = []
    for i in range(100):  # a crash every second for 100 s
        d = child.policy.on_exit(float(i), 0.1, 1)
        assert d.verdict is Verdict.RESTART
        delays.append(d.delay_s)
    assert max(delays) <= 60 * 1.2 and delays[-1] >= 60 * 0.8  # backoff capped at 60 s (+-20 %)
    assert child.policy.on_exit(200.0, 0.1, 78).verdict is Verdict.FATAL  # a config refusal still is


def test_config_changes_reach_the_advertiser() -> None:
    on = {"OPENCLAW_DISABLE_BONJOUR": "0"}
    old_cfg, new_cfg = dict(ON), {"discovery": {"mdns": {"mode": "full"}}}
    specs = derive_specs(old_cfg, on)
    plan = plan_reload(old_cfg, new_cfg, specs, derive_specs(new_cfg, on), gw(), gw(), "hybrid")
    assert plan.hot == {"advertiser": ["discovery.mdns.mode"]} and not plan.restart_frontend
    # a new port: a new front-end, and the advertiser re-announces
    plan = plan_reload({**ON, "gateway": {"port": 1}}, {**ON, "gateway": {"port": 2}}, specs, specs, gw(port=1), gw(port=2), "hybrid")
    assert plan.rebind and plan.hot["advertiser"] == ["gateway.port"]
    # turning it off stops the process; on starts it
    off = {"discovery": {"mdns": {"mode": "off"}}}
    plan = plan_reload(old_cfg, off, specs, derive_specs(off, on), gw(), gw(), "hybrid")
    assert plan.stop == {"advertiser": ["discovery.mdns.mode"]} and "advertiser" not in plan.hot
    plan = plan_reload(off, old_cfg, derive_specs(off, on), specs, gw(), gw(), "hybrid")
    assert plan.start == {"advertiser": ["discovery.mdns.mode"]}


def test_raise_fault() -> None:
    f = parse("advertiser=raise:2")["advertiser"]
    for _ in range(2):
        with pytest.raises(InjectedFault):
            f.maybe_raise("x")
    f.maybe_raise("x")  # the third attempt goes through
    with pytest.raises(FaultSpecError, match="raise:N"):
        parse("advertiser=raise")
