"""Config over RPC (config.get/apply/patch), from the CLI (openclaw config ...), and the restart
commands with `commands.restart: false`."""

from __future__ import annotations

import json
import os
import signal
import stat

import pytest

from ..harness import TOKEN, Home, wait_for
from ..wsclient import open_client


def test_config_get_shape_and_redaction(gateway, home: Home) -> None:
    c = open_client(gateway.url)
    try:
        p = c.call("config.get")["payload"]
    finally:
        c.close()
    assert p["path"] == str(home.config_path) and p["exists"] is True and p["valid"] is True
    assert p["hash"] == home.config_hash() and p["issues"] == []
    assert TOKEN not in json.dumps(p)  # raw, parsed and config all redacted
    assert p["parsed"]["gateway"]["auth"]["token"] == "__OPENCLAW_REDACTED__"
    assert "__OPENCLAW_REDACTED__" in p["raw"]


def test_config_patch_writes_atomically_broadcasts_and_applies(gateway, home: Home) -> None:
    os.chmod(home.config_path, 0o640)
    before = home.config_path.read_bytes()
    admin, watcher = open_client(gateway.url), open_client(gateway.url)
    try:
        base = admin.call("config.get")["payload"]["hash"]
        res = admin.call("config.patch", {"raw": '{channels: {telegram: {botToken: "123:abc"}}}', "baseHash": base})
        assert res["ok"], res
        p = res["payload"]
        assert p["changedPaths"] == ["channels.telegram.botToken"]
        assert p["reload"]["actions"] == ["starting worker channel telegram (channels.telegram.botToken)"]
        assert p["hash"] == home.config_hash() and p["previousHash"] == base
        assert stat.S_IMODE(os.stat(home.config_path).st_mode) == 0o640  # the file's mode is kept
        assert home.config_path.with_name("openclaw.json.bak").read_bytes() == before
        on_disk = json.loads(home.config_path.read_text())
        assert on_disk["channels"]["telegram"]["botToken"] == "123:abc" and on_disk["gateway"]["auth"]["token"] == TOKEN
        ev = watcher.next_event("config.changed", timeout=5)
        assert ev["payload"]["hash"] == p["hash"] and ev["payload"]["path"] == str(home.config_path)
        wait_for(lambda: "channel:telegram" in gateway.children_by_title(), 10, what="the channel worker")
    finally:
        admin.close()
        watcher.close()


def test_config_apply_keeps_the_callers_text(gateway, home: Home) -> None:
    c = open_client(gateway.url)
    try:
        base = c.call("config.get")["payload"]["hash"]
        raw = "// managed by the test\n" + json.dumps(home.default_config() | {"meta": {"note": "x"}}, indent=2)
        res = c.call("config.apply", {"raw": raw, "baseHash": base})
        assert res["ok"], res
        assert home.config_path.read_text().startswith("// managed by the test")  # comments survive apply
    finally:
        c.close()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"raw": '{gateway: {port: 1}}', "baseHash": "sha256:stale"}, "config changed since last load; re-run config.get and retry"),
        ({"raw": '{gateway: {port: 1}}'}, "config base hash required for gateway.port"),
        ({"raw": '{hooks: {token: "abc"}}'}, "config base hash required for hooks.token"),
        ({"raw": "{gateway: {port: 1,}"}, "invalid config.patch params: not valid JSON5"),
        ({"raw": '{logging: {level: "loud"}}'}, "invalid config: logging.level: invalid value 'loud'"),
        ({"text": "{}"}, "invalid config.patch params"),
    ],
    ids=["stale-hash", "hash-required-gateway", "hash-required-secret", "bad-json5", "schema", "bad-params"],
)
def test_config_patch_refusals_leave_the_file_alone(gateway, home: Home, params: dict, message: str) -> None:
    before = home.config_path.read_bytes()
    c = open_client(gateway.url)
    try:
        res = c.call("config.patch", params)
    finally:
        c.close()
    assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
    assert res["error"]["message"].startswith(message), res["error"]
    assert home.config_path.read_bytes() == before


def test_config_writes_need_admin(gateway) -> None:
    c = open_client(gateway.url, scopes=["operator.read", "operator.write"])
    try:
        assert c.call("config.get")["ok"]
        for method in ("config.apply", "config.patch"):
            err = c.call(method, {"raw": "{}"})["error"]
            assert err["code"] == "FORBIDDEN" and err["details"]["missingScope"] == "operator.admin"
    finally:
        c.close()


def test_cli_config_set_get_unset_validate(gateway, home: Home) -> None:
    r = home.cli("config", "set", "channels.telegram.botToken", "123:abc")
    assert r.returncode == 0, r.stderr
    assert "starting worker channel telegram" in r.stdout
    wait_for(lambda: "channel:telegram" in gateway.children_by_title(), 10, what="the channel worker")
    r = home.cli("config", "get", "channels.telegram.botToken")
    assert r.stdout.strip() == "__OPENCLAW_REDACTED__"
    assert home.cli("config", "get", "channels.telegram.botToken", "--reveal").stdout.strip() == "123:abc"
    assert home.cli("config", "get", "gateway.auth.mode").stdout.strip() == "token"

    before = home.config_path.read_bytes()
    r = home.cli("config", "set", "gateway.port", '"eighteen"')
    assert r.returncode == 1 and "gateway.port: expected int, got str" in r.stderr
    assert home.config_path.read_bytes() == before  # nothing written

    r = home.cli("config", "unset", "channels")
    assert r.returncode == 0 and "stopping worker channel telegram" in r.stdout
    assert home.cli("config", "get", "channels").returncode == 1
    assert home.cli("config", "validate").returncode == 0
    assert home.cli("config", "file").stdout.strip() == str(home.config_path)

    home.config_path.write_text('{gateway: {mode: "local",\n  port: 12x}}')
    r = home.cli("config", "validate", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["valid"] is False and out["issues"][0]["line"] == 2


def test_cli_config_set_without_a_running_gateway(home: Home) -> None:
    home.write_config(home.default_config())
    r = home.cli("config", "set", "channels.telegram.enabled", "true")
    assert r.returncode == 0 and "No running gateway reached" in r.stdout
    assert json.loads(home.config_path.read_text())["channels"] == {"telegram": {"enabled": True}}


def test_gateway_restart_is_the_seed_name_of_restart_request(gateway) -> None:
    c = open_client(gateway.url)
    res = c.call("gateway.restart", {})
    assert res["ok"] and res["payload"]["status"] == "scheduled", res
    assert c.next_event("shutdown", timeout=10)["payload"]["reason"] == "gateway restarting"
    c.close()
    gateway.wait_ready()


def test_commands_restart_false_blocks_sigusr1_and_rpcs_not_config_restarts(make_gateway, home: Home) -> None:
    cfg = home.default_config()
    cfg["commands"] = {"restart": False}
    gw = make_gateway(config=cfg)
    before = gw.children_by_title()
    c = open_client(gw.url)
    for method in ("gateway.restart", "gateway.restart.request"):
        err = c.call(method)["error"]
        assert err["code"] == "INVALID_REQUEST" and "commands.restart" in err["message"], err
        assert err["details"]["key"] == "commands.restart"
    gw.signal(signal.SIGUSR1)
    wait_for(lambda: "SIGUSR1 ignored: restarts are disabled (commands.restart is false)" in home.log_messages(), 5,
             what="the refusal logged")
    assert gw.children_by_title() == before and c.call("health")["ok"]
    cfg["gateway"]["controlUi"] = {"enabled": False}
    cfg["gateway"]["reload"] = {"mode": "restart"}  # a config-driven front-end restart still happens
    home.write_config(cfg)
    assert c.next_event("shutdown", timeout=10)["payload"]["reason"] == "gateway restarting"
    c.close()
