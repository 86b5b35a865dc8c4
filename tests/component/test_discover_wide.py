"""The wide-area DNS-SD browser (cli/discover_wide.py) and `gateway discover`'s argument handling,
in-process, against the fake authoritative DNS server on 127.0.0.1 (tests/fakes/dns_server.py)
serving zones written by the advertiser's own zone writer."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from openclaw.cli import discover_cmd as cmd
from openclaw.cli.discover_wide import WideAreaError, browse
from openclaw.workers.advertiser.announcement import Announcement
from openclaw.workers.advertiser.zone import zone_text

from tests.fakes.dns_server import ZoneServer

DOMAIN = "openclaw.internal."


def _announcement(name: str = "vm (OpenClaw)", host: str = "vm", port: int = 18789, **txt: str) -> Announcement:
    return Announcement(name, host, port, ("127.0.0.2",), {"role": "gateway", "gatewayPort": str(port),
                                                          "displayName": name.removesuffix(" (OpenClaw)"), **txt})


def _browse(server: ZoneServer, domain: str = DOMAIN, timeout_s: float = 2.0):
    return asyncio.run(browse(domain, (server.address[0], server.address[1]), timeout_s))


def test_two_instances_escaped_names_tls_and_a_missing_srv(tmp_path: Path) -> None:
    zone = tmp_path / "z.db"
    text = zone_text(_announcement("a.b \"q\" (OpenClaw)", "h1", 1111, gatewayTls="1", gatewayTlsSha256="ab" * 32), DOMAIN)
    second = zone_text(_announcement("second (OpenClaw)", "h2", 2222), DOMAIN, addresses=("127.0.0.3", "::1"))
    # one zone holding both instances (the second one's records appended), plus a PTR without SRV
    extra = [ln for ln in second.splitlines() if ln.startswith(("second", "h2", "_openclaw-gw._tcp"))]
    extra.append("_openclaw-gw._tcp IN PTR ghost._openclaw-gw._tcp")
    zone.write_text(text + "\n".join(extra) + "\n")
    with ZoneServer(zone, DOMAIN) as dns:
        found = sorted(_browse(dns), key=lambda r: r.port)
    assert [(r.instance_name, r.domain, r.server, r.port) for r in found] == [
        ('a.b "q" (OpenClaw)', DOMAIN, "h1.openclaw.internal.", 1111),
        ("second (OpenClaw)", DOMAIN, "h2.openclaw.internal.", 2222),
    ]
    assert found[0].txt["gatewayTls"] == "1" and found[0].addresses == ["127.0.0.2"]
    assert sorted(found[1].addresses) == ["127.0.0.3", "::1"]


def test_nxdomain_is_empty_refused_and_servfail_are_errors(tmp_path: Path) -> None:
    zone = tmp_path / "z.db"
    zone.write_text(zone_text(_announcement(), DOMAIN))
    with ZoneServer(zone, DOMAIN) as dns:
        assert _browse(dns, "sub.openclaw.internal.") == []
        with pytest.raises(WideAreaError, match=r"of example\.test\.: 127\.0\.0\.1:\d+ answered REFUSED"):
            _browse(dns, "example.test.")
        zone.unlink()  # the server cannot load its zone: SERVFAIL
        with pytest.raises(WideAreaError, match="answered SERVFAIL"):
            _browse(dns)


def test_a_silent_server_fails_within_the_timeout(tmp_path: Path) -> None:
    zone = tmp_path / "z.db"
    zone.write_text(zone_text(_announcement(), DOMAIN))
    with ZoneServer(zone, DOMAIN, mode="silent") as dns:
        started = time.monotonic()
        with pytest.raises(WideAreaError, match="did not answer within 300 ms"):
            _browse(dns, timeout_s=0.3)
        assert time.monotonic() - started < 1.5


def test_discover_cmd_usage_errors_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        ({"domains": ["bad..x"]}, {}, "--domain: not a valid DNS domain"),
        ({"domains": ["a" * 64 + ".test"]}, {}, "not a valid DNS domain"),
        ({"domains": [DOMAIN], "dns_server": "dns.example"}, {}, "--dns-server: not a DNS server address"),
        ({"domains": [DOMAIN], "dns_server": "127.0.0.1:0"}, {}, "1..65535"),
        ({"domains": [DOMAIN], "dns_server": "[::1"}, {}, "expected host[:port]"),
        ({"domains": [DOMAIN]}, {"OPENCLAW_DISCOVERY_DNS_SERVER": "nope"}, "OPENCLAW_DISCOVERY_DNS_SERVER: not a DNS"),
    ]
    for kwargs, env, needle in cases:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        with pytest.raises(SystemExit) as exit_:
            cmd.discover_cmd(2000, True, **kwargs)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and needle in err, (kwargs, err)
        for k in env:
            monkeypatch.delenv(k)


def test_discover_cmd_result_and_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = tmp_path / "z.db"
    zone.write_text(zone_text(_announcement(port=4321), DOMAIN))
    with ZoneServer(zone, DOMAIN) as dns:
        cmd.discover_cmd(1000, True, ["openclaw.internal", DOMAIN], dns.server_arg)
        result = json.loads(capsys.readouterr().out)
        with pytest.raises(SystemExit) as exit_:
            cmd.discover_cmd(1000, True, ["other.test"], dns.server_arg)
    assert result["domains"] == [DOMAIN] and [b["wsUrl"] for b in result["beacons"]] == ["ws://127.0.0.2:4321"]
    captured = capsys.readouterr()
    assert exit_.value.code == 1 and captured.out == "" and "wide-area discovery of other.test." in captured.err
