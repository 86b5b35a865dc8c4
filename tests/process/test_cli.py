"""Our `openclaw` client commands, as an operator runs them."""

from __future__ import annotations

import json

from ..harness import TOKEN, free_port


def test_gateway_health_json_and_human(gateway, home):
    r = home.cli("gateway", "health", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ok"] is True
    r = home.cli("gateway", "health")
    assert r.returncode == 0
    assert "Gateway Health" in r.stdout and "OK" in r.stdout and "\x1b[" not in r.stdout  # NO_COLOR


def test_gateway_call_prints_payload(gateway, home):
    r = home.cli("gateway", "call", "status", "--json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["pid"] == gateway.pid
    names = {p["name"] for p in st["supervision"]["processes"]}
    assert names == {"supervisor", "frontend", "agent", "node"}


def test_gateway_call_rpc_error_exit_1(gateway, home):
    r = home.cli("gateway", "call", "no.such.method", "--json")
    assert r.returncode == 1
    err = json.loads(r.stdout)["error"]
    assert err["type"] == "gateway_request_error" and err["code"] == "INVALID_REQUEST"
    assert "unknown method: no.such.method" in err["message"]
    r = home.cli("gateway", "call", "status", "--params", "{not json")
    assert r.returncode == 2 and "not valid JSON" in r.stderr


def test_url_requires_explicit_credentials(gateway, home):
    r = home.cli("gateway", "health", "--url", gateway.url, "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["error"]["type"] == "gateway_credentials_required"
    r = home.cli("gateway", "health", "--url", gateway.url, "--token", TOKEN, "--json")
    assert r.returncode == 0


def test_wrong_token_and_unreachable(gateway, home):
    r = home.cli("gateway", "health", "--url", gateway.url, "--token", "wrong", "--json")
    assert r.returncode == 1
    err = json.loads(r.stdout)["error"]
    assert err["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    port = free_port()
    r = home.cli("gateway", "health", "--url", f"ws://127.0.0.1:{port}", "--token", TOKEN, "--json", "--timeout", "2000")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["error"]["type"] == "gateway_transport_error" and "ECONNREFUSED" in out["error"]["message"]
    r = home.cli("gateway", "health", "--url", f"ws://127.0.0.1:{port}", "--token", TOKEN)
    assert r.returncode == 1 and "not reachable" in r.stderr and "Traceback" not in r.stderr


def test_logs_command(gateway, home):
    r = home.cli("logs", "--json", "--limit", "3")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines[0]["type"] == "meta"
    assert any(l["type"] == "log" for l in lines)


def test_help_and_version(home):
    r = home.cli("--help")
    assert r.returncode == 0 and "gateway" in r.stdout
    r = home.cli("gateway", "run", "--help")
    assert r.returncode == 0 and "--allow-unconfigured" in r.stdout and "--password-file" in r.stdout
