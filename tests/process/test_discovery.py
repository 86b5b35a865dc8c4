"""DNS-SD discovery on a real stack: a gateway advertising in one network namespace is found by
`openclaw gateway discover` in another; the advertiser fails soft (R13).

Everything that may multicast runs inside two namespaces made for the test (tests/netns.py),
deleted even when the test fails; nothing multicasts on the host's interfaces.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .. import netns
from ..fakes.tailscale import DNS_NAME as TAILNET_DNS_NAME
from ..fakes.tailscale import install_fake_tailscale
from ..harness import OPENCLAW, Gateway, Home, wait_for
from ..wsclient import open_client

pytestmark = pytest.mark.skipif(netns.available() is not None, reason=f"{netns.available()}")


class NetnsGateway(Gateway):
    """`openclaw gateway` started inside a namespace; probed from a thread that entered it."""

    def __init__(self, home: Home, pair: netns.Pair, ns: str, args: list[str], env: dict[str, str]) -> None:
        super().__init__(home, args, env)
        self.pair, self.ns = pair, ns

    def start(self) -> NetnsGateway:
        self._out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(  # `ip netns exec` execs: the pid is the supervisor's
            self.pair.cmd(self.ns, [OPENCLAW, "gateway", *self.args]), env=self.env, stdout=self._out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self.known.add(self.proc.pid)
        return self

    def get(self, path: str, host: str = "127.0.0.1", ns: str | None = None) -> tuple[int | None, Any]:
        def fetch() -> tuple[int | None, Any]:
            try:
                with urllib.request.urlopen(f"http://{host}:{self.port}{path}", timeout=2) as r:
                    return r.status, json.loads(r.read() or b"null")
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read() or b"null")
            except OSError:
                return None, None

        return self.pair.run_in(ns or self.ns, fetch)

    def http_status(self, path: str) -> int | None:
        return self.get(path)[0]

    def health(self) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            c = open_client(f"ws://127.0.0.1:{self.port}")
            try:
                return c.call("health")["payload"]
            finally:
                c.close()

        return self.pair.run_in(self.ns, call)


@pytest.fixture
def pair() -> Iterator[netns.Pair]:
    with netns.veth_pair() as p:
        yield p


@pytest.fixture
def ns_gateway(home: Home, pair: netns.Pair) -> Iterator:
    started: list[NetnsGateway] = []

    def make(discovery: dict[str, Any], args: list[str] | None = None, ready: bool = True, **env: str) -> NetnsGateway:
        cfg = home.default_config()
        cfg["discovery"] = discovery
        home.write_config(cfg)
        # the test machine may be a container: say explicitly that advertising is wanted
        e = home.env(**{"OPENCLAW_DISABLE_BONJOUR": "0", "OPENCLAW_SKIP_CHANNELS": "1", **env})
        gw = NetnsGateway(home, pair, pair.a, args or ["--port", "0"], e)
        started.append(gw)
        gw.start()
        gw.wait_ready() if ready else gw.wait_serving()
        return gw

    yield make
    for gw in started:
        gw.stop()  # before the namespaces go


def discover(pair: netns.Pair, home: Home, timeout_ms: int = 1500) -> dict[str, Any]:
    r = subprocess.run(
        pair.cmd(pair.b, [OPENCLAW, "gateway", "discover", "--json", "--timeout", str(timeout_ms)]),
        env=home.env(), capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def announced(home: Home, n: int = 1) -> list[dict[str, Any]]:
    return wait_for(
        lambda: (lambda rs: rs if len(rs) >= n else None)([r for r in home.log_records() if r.get("message") == "announced"]),
        15, what=f"{n} announcement(s)",
    )


def test_discover_finds_the_gateway_in_the_other_namespace_and_follows_its_config(ns_gateway, pair, home) -> None:
    bindir = install_fake_tailscale(home.root / "fakebin").parent  # full mode's tailnetDns comes from it
    gw = ns_gateway({"mdns": {"mode": "minimal"}}, ["--port", "0", "--bind", "lan"], OPENCLAW_SSH_PORT="2222",
                    PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    announced(home)
    found = discover(pair, home)
    assert found["domains"] == ["local."] and found["count"] == 1, found
    b = found["beacons"][0]
    assert b["wsUrl"] == f"ws://{pair.addr_a}:{gw.port}"
    assert (b["host"], b["port"], b["gatewayPort"], b["role"], b["transport"]) == (pair.addr_a, gw.port, gw.port, "gateway", "gateway")
    assert b["instanceName"] == f"{b['displayName']} (OpenClaw)" and b["lanHost"] == f"{b['displayName']}.local"
    assert b["txt"] == {
        "role": "gateway", "gatewayPort": str(gw.port), "lanHost": b["lanHost"], "displayName": b["displayName"],
        "transport": "gateway", "gatewayDirectReachable": "1",
    }
    # the URL it found is the gateway: reachable from the other namespace
    assert gw.get("/healthz", host=pair.addr_a, ns=pair.b)[0] == 200

    # discovery.mdns.mode is hot: full mode re-announces with sshPort, cliPath and tailnetDns
    cfg = json.loads(home.config_path.read_text())
    cfg["discovery"]["mdns"]["mode"] = "full"
    home.write_config(cfg)
    announced(home, 2)
    txt = discover(pair, home)["beacons"][0]["txt"]
    assert txt["sshPort"] == "2222" and Path(txt["cliPath"]).name == "openclaw", txt
    assert txt["tailnetDns"] == TAILNET_DNS_NAME, txt  # tailscale status --json Self.DNSName, dot stripped
    assert gw.health()["discovery"]["mdns"]["mode"] == "full"

    # withdrawn on stop: goodbye packets, and nobody answers any more
    gw.stop()
    assert "announcement withdrawn" in home.log_messages()
    assert discover(pair, home, 1000)["count"] == 0


def test_the_advertiser_failing_100_times_never_stops_the_gateway(ns_gateway, pair, home) -> None:
    gw = ns_gateway(
        {"mdns": {"mode": "minimal"}}, OPENCLAW_FAULTS="advertiser=raise:100", OPENCLAW_ADVERTISER_BACKOFF_MS="1,5",
    )
    announced(home)  # after 100 injected failures, in the same process
    d = gw.health()["discovery"]
    assert (d["state"], d["totalFailures"], d["failures"], d["lastError"]) == ("advertising", 100, 0, None), d
    msgs = home.log_messages()
    assert msgs.count("advertising failed; retrying") == 5  # failures 1-3, 50, 100: the log is not flooded
    assert not [r for r in home.log_records() if r.get("message") == "exited unexpectedly"]
    assert gw.proc is not None and gw.proc.poll() is None and gw.http_status("/readyz") == 200
    assert discover(pair, home)["count"] == 1


def test_a_crash_looping_advertiser_process_degrades_readiness_without_failing_it(ns_gateway, home) -> None:
    gw = ns_gateway({"mdns": {"mode": "minimal"}}, ready=False, OPENCLAW_FAULTS="advertiser=exit-on-start")
    wait_for(lambda: sum(1 for r in home.log_records() if r.get("message") == "exited unexpectedly") >= 3, 15,
             what="three advertiser crashes")
    status, body = gw.get("/readyz")
    assert status == 200 and body["failing"] == [], body
    assert any(line.startswith("worker:advertiser backoff") for line in body["degraded"]), body
    h = gw.health()
    assert h["ok"] is True and h["workers"]["advertiser"]["state"] == "backoff" and h["workers"]["advertiser"]["restarts"] >= 3


def test_disable_bonjour_env_wins_over_the_config(ns_gateway, home) -> None:
    gw = ns_gateway({"mdns": {"mode": "full"}}, OPENCLAW_DISABLE_BONJOUR="1")
    assert "advertiser" not in gw.health()["workers"]
    assert not any("advertiser" in " ".join(p.cmdline()) for p in gw.track())
