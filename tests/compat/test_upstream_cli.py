"""The real upstream OpenClaw CLI (2026.9.6, unchanged) against our gateway.

Each test runs a command the way a user would and checks what that user would look at:
the exit code and the JSON fields that matter (spec protocol.md §6 JSON shapes, §9.1 traces).
"""

from __future__ import annotations

from typing import Any

import pytest

from ..harness import TOKEN, Gateway
from .conftest import UPSTREAM_VERSION, CliResult

# Each CLI command is bounded separately (60 s); func_only keeps the one-time install of the
# upstream CLI (session fixture) out of the per-test budget.
pytestmark = pytest.mark.timeout(240, func_only=True)

WORKERS = {"agent", "node"}


def ok_json(res: CliResult) -> Any:
    assert res.returncode == 0, res.describe()
    return res.json()


def assert_health_payload(payload: Any, gw: Gateway, res: CliResult) -> None:
    assert isinstance(payload, dict), res.describe()
    assert payload.get("ok") is True, res.describe()
    workers = payload.get("workers")
    assert isinstance(workers, dict) and WORKERS <= set(workers), f"health has no workers {sorted(WORKERS)}:\n{res.describe()}"
    running = gw.children_by_title()
    for name in WORKERS:
        assert workers[name].get("ready") is True, res.describe()
        assert workers[name].get("pid") == running.get(name), f"worker {name} pid vs process tree {running}:\n{res.describe()}"


def explicit(gw: Gateway) -> list[str]:
    return ["--url", gw.url, "--token", TOKEN]


def test_upstream_cli_version(cli) -> None:
    res = cli("--version")
    assert res.returncode == 0, res.describe()
    assert UPSTREAM_VERSION in res.stdout, res.describe()


def test_gateway_health_url(cli, gateway: Gateway) -> None:
    res = cli("gateway", "health", *explicit(gateway), "--json")
    assert_health_payload(ok_json(res), gateway, res)


def test_gateway_call_health(cli, gateway: Gateway) -> None:
    res = cli("gateway", "call", "health", *explicit(gateway), "--json")
    assert_health_payload(ok_json(res), gateway, res)


def test_gateway_call_status(cli, gateway: Gateway) -> None:
    res = cli("gateway", "call", "status", *explicit(gateway), "--json")
    payload = ok_json(res)
    assert payload.get("pid") == gateway.pid, res.describe()
    procs = (payload.get("supervision") or {}).get("processes")
    assert isinstance(procs, list) and procs, res.describe()
    sup = [p for p in procs if p.get("role") == "supervisor"]
    assert len(sup) == 1 and sup[0].get("pid") == gateway.pid, f"supervisor pid != {gateway.pid}:\n{res.describe()}"
    names = {p.get("name") for p in procs}
    assert WORKERS <= names and "frontend" in names, res.describe()


def assert_rpc_ok(payload: Any, gw: Gateway, res: CliResult) -> dict[str, Any]:
    rpc = payload.get("rpc")
    assert isinstance(rpc, dict) and rpc.get("ok") is True, f"rpc not ok:\n{res.describe()}"
    server = rpc.get("server") or {}
    assert isinstance(server.get("connId"), str) and server["connId"], f"no server connId:\n{res.describe()}"
    assert rpc.get("url") in (None, gw.url), res.describe()
    return rpc


def test_gateway_status_url(cli, gateway: Gateway) -> None:
    res = cli("gateway", "status", *explicit(gateway), "--json")
    payload = ok_json(res)
    rpc = assert_rpc_ok(payload, gateway, res)
    assert rpc.get("url") == gateway.url, res.describe()
    assert payload.get("cli", {}).get("version") == UPSTREAM_VERSION, res.describe()


def test_gateway_status_require_rpc(cli, gateway: Gateway) -> None:
    res = cli("gateway", "status", *explicit(gateway), "--json", "--require-rpc")
    payload = ok_json(res)
    rpc = assert_rpc_ok(payload, gateway, res)
    # --require-rpc connects as gateway-client/backend asking operator.read, then calls `status`.
    assert "operator.read" in (rpc.get("auth") or {}).get("scopes", []), res.describe()


def test_gateway_probe_url(cli, gateway: Gateway) -> None:
    res = cli("gateway", "probe", *explicit(gateway), "--json")
    payload = ok_json(res)
    assert payload.get("ok") is True, res.describe()
    targets = {t.get("id"): t for t in payload.get("targets", [])}
    target = targets.get("explicit")
    assert target is not None and target.get("url") == gateway.url, res.describe()
    connect = target.get("connect") or {}
    # As upstream (spec §9.1): a probe-mode connect without a device identity has its scopes cleared,
    # so health answers and the read calls are refused -> connected, scope-limited, degraded, exit 0.
    assert connect.get("ok") is True and connect.get("rpcOk") is False and connect.get("scopeLimited") is True, (
        f"explicit target connect:\n{res.describe()}"
    )
    assert payload.get("capability") == "connected_no_operator_scope", res.describe()
    assert "probe_scope_limited" in {w.get("code") for w in payload.get("warnings", [])}, res.describe()
    server = target.get("server") or {}
    assert isinstance(server.get("connId"), str) and server["connId"], res.describe()
    assert (target.get("auth") or {}).get("scopes") == [], res.describe()


def test_gateway_wrong_token(cli, gateway: Gateway) -> None:
    res = cli("gateway", "health", "--url", gateway.url, "--token", "not-the-token", "--json")
    assert res.returncode != 0, res.describe()
    payload = res.json()
    assert payload.get("ok") is False, res.describe()
    error = payload.get("error") or {}
    text = f"{error.get('message', '')} {(error.get('details') or {}).get('code', '')}".lower()
    assert "token mismatch" in text or "auth_token_mismatch" in text, res.describe()
    assert (error.get("details") or {}).get("code") == "AUTH_TOKEN_MISMATCH", res.describe()


# --- commands without --url: they find the gateway through the config in HOME -------------------


def test_health_from_config(cli, config_port_gateway: Gateway) -> None:
    res = cli("health", "--json")
    assert_health_payload(ok_json(res), config_port_gateway, res)


def test_gateway_health_from_config(cli, config_port_gateway: Gateway) -> None:
    res = cli("gateway", "health", "--json")
    assert_health_payload(ok_json(res), config_port_gateway, res)


def test_gateway_status_from_config(cli, config_port_gateway: Gateway) -> None:
    gw = config_port_gateway
    res = cli("gateway", "status", "--json")
    payload = ok_json(res)
    assert_rpc_ok(payload, gw, res)
    gateway = payload.get("gateway") or {}
    assert gateway.get("port") == gw.port and gateway.get("probeUrl") == gw.url, res.describe()
    port = payload.get("port") or {}
    assert port.get("status") == "busy", res.describe()
    listener_pids = {item.get("pid") for item in port.get("listeners", [])}
    frontend = gw.children_by_title()["frontend"]
    # one gateway process on the port (the supervisor keeps its copy parked, out of lsof's sight)
    assert listener_pids == {frontend}, f"listeners {listener_pids}, front-end {frontend}:\n{res.describe()}"
    assert not any("Multiple listeners" in h for h in port.get("hints", [])), res.describe()


def test_logs_from_config(cli, config_port_gateway: Gateway) -> None:
    res = cli("logs", "--json", "--limit", "3")
    lines = res.jsonl() if res.returncode == 0 else []
    assert res.returncode == 0, res.describe()
    assert lines and lines[0].get("type") == "meta", res.describe()
    assert lines[0].get("file") == str(config_port_gateway.home.log_file), res.describe()
    logs = [entry for entry in lines if entry.get("type") == "log"]
    assert 1 <= len(logs) <= 3, res.describe()
    for entry in logs:
        assert entry.get("message") and entry.get("time") and entry.get("level"), res.describe()
