"""The real upstream CLI (unchanged) runs `gateway status` and `gateway probe` WITHOUT --url, finding
our gateway the way a user's shell would: the config and state dir in HOME (issue 7 §7).

What a user checks: the exit code, `rpc.ok`, the port busy with our gateway's listener, the probe
target reachable, and the human lines (`Connectivity probe: ok`, `Reachable: yes`).
"""

from __future__ import annotations

import itertools
import socket
from typing import Any

import pytest

from ..harness import Gateway, Home, free_port
from .conftest import UPSTREAM_VERSION, CliResult

pytestmark = pytest.mark.timeout(300, func_only=True)

CRASH_MARKERS = ("Cannot read properties", "is not iterable", "is not a function", "TypeError", "Reason:")


def clean(res: CliResult, code: int = 0) -> str:
    assert res.returncode == code, res.describe()
    out = res.stdout + res.stderr
    for marker in CRASH_MARKERS:
        assert marker not in out, f"crash text {marker!r}:\n{res.describe()}"
    return out


def assert_our_listener(payload: dict[str, Any], gw: Gateway, res: CliResult) -> None:
    port = payload.get("port") or {}
    assert port.get("port") == gw.port and port.get("status") == "busy", res.describe()
    frontend = gw.children_by_title()["frontend"]
    listeners = port.get("listeners") or []
    assert {item.get("pid") for item in listeners} == {frontend}, f"front-end {frontend}:\n{res.describe()}"
    assert all(str(item.get("commandLine", "")).startswith("openclaw-gateway") for item in listeners), res.describe()
    assert port.get("hints") == [], res.describe()


def test_gateway_status_human(cli, config_port_gateway: Gateway) -> None:
    gw = config_port_gateway
    out = clean(cli("gateway", "status"))
    for line in ("Connectivity probe: ok", f"Probe target: {gw.url}", f"Listening: 127.0.0.1:{gw.port}",
                 f"Gateway version: {UPSTREAM_VERSION}", f"port={gw.port} (env/config)"):
        assert line in out, f"{line!r} missing:\n{out}"
    assert "Capability: " in out and "but the running Gateway is version" not in out
    assert "Port " + str(gw.port) + " is already in use" not in out


def test_gateway_status_json_require_rpc(cli, config_port_gateway: Gateway) -> None:
    gw = config_port_gateway
    res = cli("gateway", "status", "--json", "--require-rpc")
    clean(res)
    payload = res.json()
    rpc = payload.get("rpc") or {}
    # --require-rpc: connects as gateway-client/backend asking operator.read, then calls `status`
    assert rpc.get("ok") is True and rpc.get("kind") == "read", res.describe()
    assert "operator.read" in (rpc.get("auth") or {}).get("scopes", []) and rpc.get("url") == gw.url, res.describe()
    assert (rpc.get("server") or {}).get("version") == UPSTREAM_VERSION, res.describe()
    assert payload["gateway"]["port"] == gw.port and payload["gateway"]["probeUrl"] == gw.url, res.describe()
    assert payload["config"]["cli"]["path"] == str(gw.home.config_path), res.describe()
    assert payload["config"]["cli"]["valid"] is True, res.describe()
    assert_our_listener(payload, gw, res)


def test_gateway_probe_json_then_down(cli, config_port_gateway: Gateway) -> None:
    gw = config_port_gateway
    res = cli("gateway", "probe", "--json")
    clean(res)
    payload = res.json()
    assert payload.get("ok") is True and payload.get("primaryTargetId") == "localLoopback", res.describe()
    targets = {t.get("id"): t for t in payload.get("targets", [])}
    local = targets.get("localLoopback") or {}
    assert local.get("url") == gw.url and (local.get("connect") or {}).get("ok") is True, res.describe()
    assert (local.get("server") or {}).get("connId"), res.describe()
    assert "no_gateway_reachable" not in {w.get("code") for w in payload.get("warnings", [])}, res.describe()

    gw.stop()  # the same command with the gateway gone: not reachable, exit non-zero
    res = cli("gateway", "probe", "--json")
    clean(res, code=1)
    payload = res.json()
    assert payload.get("ok") is False, res.describe()
    assert "no_gateway_reachable" in {w.get("code") for w in payload.get("warnings", [])}, res.describe()


def test_gateway_probe_human(cli, config_port_gateway: Gateway) -> None:
    gw = config_port_gateway
    out = clean(cli("gateway", "probe"))
    assert "Reachable: yes" in out and f"Local loopback {gw.url}" in out, out
    target_line = out.split(f"Local loopback {gw.url}", 1)[1].splitlines()[1]
    assert "Connect: ok" in target_line, out


def _profile_with_free_default_port() -> tuple[str, int]:
    """A profile name whose default port (20000 + fnv1a32(name) % 40000) is free right now."""
    from openclaw.ipc.paths import profile_default_port

    for n in itertools.count():
        name = f"compat{free_port() % 9973}x{n}"
        port = profile_default_port(name)
        try:
            with socket.socket() as s4, socket.socket(socket.AF_INET6) as s6:
                s4.bind(("127.0.0.1", port))
                s6.bind(("::1", port))
        except OSError:
            continue
        return name, port
    raise AssertionError("unreachable")


def test_named_profile_found_at_its_default_port(cli, make_gateway, home: Home, tmp_path) -> None:
    """`--profile NAME` with no port configured: both CLIs agree on the profile's default port."""
    name, port = _profile_with_free_default_port()
    prof = Home(tmp_path, profile=name)
    prof.write_config(prof.default_config())  # no gateway.port
    gw = make_gateway(args=[], env=home.env(OPENCLAW_PROFILE=name), h=prof)
    assert gw.port == port
    res = cli("--profile", name, "gateway", "status", "--json")
    clean(res)
    payload = res.json()
    assert (payload.get("rpc") or {}).get("ok") is True and payload["gateway"]["port"] == port, res.describe()
    assert payload["config"]["cli"]["path"] == str(prof.config_path), res.describe()
    assert_our_listener(payload, gw, res)
