"""Wide-area (unicast) DNS-SD on a real stack, loopback only: a gateway with
`discovery.wideArea.domain` (mDNS off: nothing multicasts) writes its zone; a tiny DNS server on
127.0.0.1 (tests/fakes/dns_server.py) serves that file; `openclaw gateway discover --domain …
--dns-server 127.0.0.1:<port> --json` finds the gateway with its TXT.

The gateway binds `tailnet` through the fake tailscale (tests/fakes/tailscale.py, tailnet IPv4
127.0.0.2): the zone points at the tailnet address, as upstream's does, so the wsUrl found is
the one the gateway listens on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.dns_server import ZoneServer
from tests.fakes.tailscale import TAILNET_IPV4, install_fake_tailscale
from tests.harness import OPENCLAW, Gateway, Home, wait_for

DOMAIN = "openclaw.internal."


@dataclass
class WideArea:
    home: Home
    gw: Gateway
    port: int
    dns: ZoneServer
    zone: Path


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WideArea]:
    root = tmp_path_factory.mktemp("wide")
    home = Home(root)
    cfg = home.default_config()
    cfg["discovery"] = {"mdns": {"mode": "off"}, "wideArea": {"domain": "openclaw.internal"}}
    home.write_config(cfg)
    bindir = root / "fakebin"
    install_fake_tailscale(bindir)
    env = home.env(PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}", OPENCLAW_SKIP_CHANNELS="1")
    gw = Gateway(home, ["--port", "0", "--bind", "tailnet"], env=env)
    zone = home.state_dir / "dns" / "openclaw.internal.db"
    try:
        gw.start()

        def zone_written() -> int | None:
            assert gw.proc is not None and gw.proc.poll() is None, gw.output()
            rec = gw.instance()
            ok = rec and "ready:" in gw.output() and zone.exists() and f" {rec['port']} " in zone.read_text()
            return rec["port"] if ok else None

        port = wait_for(zone_written, 20, what="gateway ready and its zone written")
        with ZoneServer(zone, DOMAIN) as dns:
            yield WideArea(home, gw, port, dns, zone)
    finally:
        gw.stop()


def _discover(home: Home, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [OPENCLAW, "gateway", "discover", *args], env=home.env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, stdin=subprocess.DEVNULL,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


def test_discover_finds_the_gateway_through_its_zone(wide: WideArea) -> None:
    server = wide.dns.server_arg
    # run side by side (each CLI start is ~0.5 s): JSON, the env-chosen server, the human rendering
    procs = [
        _discover(wide.home, "--json", "--domain", "openclaw.internal", "--dns-server", server),
        _discover(wide.home, "--json", "--domain", DOMAIN, OPENCLAW_DISCOVERY_DNS_SERVER=server),
        _discover(wide.home, "--domain", DOMAIN, "--dns-server", server),
    ]
    (code, out, err), (code_env, out_env, err_env), (code_h, out_h, err_h) = [_finish(p) for p in procs]
    assert code == 0, err
    found = json.loads(out)
    assert (found["domains"], found["count"]) == ([DOMAIN], 1), found
    b = found["beacons"][0]
    port = wide.port
    assert b["wsUrl"] == f"ws://{TAILNET_IPV4}:{port}", b
    assert (b["domain"], b["host"], b["port"], b["gatewayPort"], b["role"], b["transport"]) == (
        DOMAIN, TAILNET_IPV4, port, port, "gateway", "gateway")
    assert b["instanceName"] == f"{b['displayName']} (OpenClaw)"
    assert b["txt"] == {
        "role": "gateway", "gatewayPort": str(port), "lanHost": b["lanHost"], "displayName": b["displayName"],
        "transport": "gateway",
    }
    # the URL found is the gateway's
    with socket.create_connection((TAILNET_IPV4, port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        assert s.recv(64).startswith(b"HTTP/1.1 200")
    assert code_env == 0 and json.loads(out_env)["beacons"] == found["beacons"], err_env
    assert code_h == 0, err_h
    assert f"Found 1 gateway(s) · domains: {DOMAIN}" in out_h and f"ws://{TAILNET_IPV4}:{port}" in out_h, out_h
    # PTR, then SRV + TXT of the instance and A + AAAA of its host: nothing else was asked
    kinds = sorted({t for _n, t in wide.dns.queries})
    assert kinds == ["A", "AAAA", "PTR", "SRV", "TXT"], wide.dns.queries


def test_nothing_announced_a_bad_domain_and_a_silent_server(wide: WideArea) -> None:
    """More error cases run in-process: tests/component/test_discover_wide.py."""
    server = wide.dns.server_arg
    with ZoneServer(wide.zone, DOMAIN, mode="silent") as silent:
        cases = {
            "empty": ["--json", "--domain", "elsewhere.openclaw.internal", "--dns-server", server],
            "silent": ["--json", "--timeout", "400", "--domain", DOMAIN, "--dns-server", silent.server_arg],
            "bad-domain": ["--domain", "bad..domain", "--dns-server", server],
        }
        started = time.monotonic()
        procs = {k: _discover(wide.home, *args) for k, args in cases.items()}
        done = {k: _finish(p) for k, p in procs.items()}
        elapsed = time.monotonic() - started
    code, out, err = done["empty"]
    assert code == 0 and json.loads(out) == {
        "timeoutMs": 2000, "domains": ["elsewhere.openclaw.internal."], "count": 0, "beacons": []}, (out, err)
    code, out, err = done["silent"]
    assert code == 1 and out == "" and "did not answer within 400 ms" in err and silent.server_arg in err, err
    assert elapsed < 10, elapsed  # bounded by --timeout (plus the CLIs' start), not a resolver default
    code, out, err = done["bad-domain"]
    assert code == 2 and "not a valid DNS domain: 'bad..domain'" in err and "Traceback" not in err, err
