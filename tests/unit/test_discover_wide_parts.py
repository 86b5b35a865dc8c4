"""Wide-area discovery's pure parts: domain and DNS-server parsing, which domains `gateway discover`
browses, the tailnetDns TXT key and the zone's tailnet addresses."""

from __future__ import annotations

import pytest
from openclaw.cli.discover_cmd import configured_wide_area_domain, domains_to_browse
from openclaw.cli.discover_wide import normalize_domain, parse_dns_server
from openclaw.ipc.config import ResolvedGateway
from openclaw.workers.advertiser.announcement import build
from openclaw.workers.advertiser.zone import zone_text


def gw() -> ResolvedGateway:
    return ResolvedGateway(
        profile=None, state_dir="/s", config_path="/s/c.json", config_exists=True, config_hash="h", port=18789,
        port_source="config", bind_mode="loopback", bind_hosts=["127.0.0.1"], auth_mode="token", log_file="/l",
    )


def test_domains() -> None:
    assert normalize_domain(" OpenClaw.Internal ") == "openclaw.internal."
    assert normalize_domain("local") == "local."
    for bad in ("", ".", "a..b", "-a.b", "a_b.c", "a b", "x" * 64, ("a" * 60 + ".") * 5):
        with pytest.raises(ValueError, match="not a valid DNS domain"):
            normalize_domain(bad)


def test_dns_servers() -> None:
    assert parse_dns_server("127.0.0.1") == ("127.0.0.1", 53)
    assert parse_dns_server("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_dns_server("::1") == ("::1", 53)
    assert parse_dns_server("[::1]:5353") == ("::1", 5353)
    for bad in ("dns.example", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:x", "[::1", "[::1]x", "1.2.3.4:99999", ""):
        with pytest.raises(ValueError):
            parse_dns_server(bad)


def test_which_domains_are_browsed() -> None:
    wide = {"discovery": {"wideArea": {"domain": "openclaw.internal"}}}
    assert domains_to_browse([], {}, {}) == ["local."]
    assert domains_to_browse([], wide, {}) == ["local.", "openclaw.internal."]
    assert domains_to_browse([], {}, {"OPENCLAW_WIDE_AREA_DOMAIN": "env.test"}) == ["local.", "env.test."]
    assert domains_to_browse([], wide, {"OPENCLAW_WIDE_AREA_DOMAIN": "env.test"}) == ["local.", "openclaw.internal."]
    off = {"discovery": {"wideArea": {"domain": "openclaw.internal", "enabled": False}}}
    assert domains_to_browse([], off, {}) == ["local."]
    assert configured_wide_area_domain({"discovery": {"wideArea": {"domain": "bad..x"}}}, {}) is None
    # --domain replaces the default list (as upstream's `domains`), duplicates folded
    assert domains_to_browse(["a.test", "A.test.", "local"], wide, {}) == ["a.test.", "local."]
    with pytest.raises(ValueError):
        domains_to_browse(["bad..x"], {}, {})


def test_tailnet_dns_txt_and_zone_addresses() -> None:
    env = {"OPENCLAW_MDNS_HOSTNAME": "vm", "OPENCLAW_CLI_PATH": "/bin/openclaw"}
    assert build("full", gw(), {}, env, [], tailnet_dns="gw.tail1234.ts.net").txt["tailnetDns"] == "gw.tail1234.ts.net"
    assert "tailnetDns" not in build("minimal", gw(), {}, env, [], tailnet_dns="gw.tail1234.ts.net").txt
    assert "tailnetDns" not in build("full", gw(), {}, env, []).txt
    a = build("minimal", gw(), {}, env, ["192.0.2.7"])
    text = zone_text(a, "openclaw.internal.", serial=1, addresses=("100.64.0.5", "fd7a:115c:a1e0::1"))
    assert "vm IN A 100.64.0.5\n" in text and "vm IN AAAA fd7a:115c:a1e0::1\n" in text and "192.0.2.7" not in text
    assert "vm IN A 192.0.2.7\n" in zone_text(a, "openclaw.internal.", serial=1)
