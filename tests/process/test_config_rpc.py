"""Config over RPC (config.get/apply/patch), from the CLI (openclaw config ...), and the restart
commands with `commands.restart: false`."""

from __future__ import annotations

import json
import os
import signal
import stat

import pytest

from ..harness import TOKEN, Home, wait_for
from ..wsclient import Client, open_client


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
        res = admin.call("config.patch", {"raw": '{channels: {discord: {botToken: "123:abc"}}}', "baseHash": base})
        assert res["ok"], res
        p = res["payload"]
        assert p["changedPaths"] == ["channels.discord.botToken"]
        assert p["reload"]["actions"] == ["starting worker channel discord (channels.discord.botToken)"]
        assert p["hash"] == home.config_hash() and p["previousHash"] == base
        assert stat.S_IMODE(os.stat(home.config_path).st_mode) == 0o640  # the file's mode is kept
        assert home.config_path.with_name("openclaw.json.bak").read_bytes() == before
        on_disk = json.loads(home.config_path.read_text())
        assert on_disk["channels"]["discord"]["botToken"] == "123:abc" and on_disk["gateway"]["auth"]["token"] == TOKEN
        ev = watcher.next_event("config.changed", timeout=5)
        assert ev["payload"]["hash"] == p["hash"] and ev["payload"]["path"] == str(home.config_path)
        wait_for(lambda: "channel:discord" in gateway.children_by_title(), 10, what="the channel worker")
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
    r = home.cli("config", "set", "channels.discord.botToken", "123:abc")
    assert r.returncode == 0, r.stderr
    assert "starting worker channel discord" in r.stdout
    wait_for(lambda: "channel:discord" in gateway.children_by_title(), 10, what="the channel worker")
    before = home.config_path.stat().st_mtime_ns
    r = home.cli("config", "set", "channels.discord.botToken", "123:abc")  # the same value again
    assert r.returncode == 0 and "nothing written" in r.stdout and "starting worker" not in r.stdout, r.stdout
    assert home.config_path.stat().st_mtime_ns == before
    r = home.cli("config", "get", "channels.discord.botToken")
    assert r.stdout.strip() == "__OPENCLAW_REDACTED__"
    assert home.cli("config", "get", "channels.discord.botToken", "--reveal").stdout.strip() == "123:abc"
    assert home.cli("config", "get", "gateway.auth.mode").stdout.strip() == "token"

    before = home.config_path.read_bytes()
    r = home.cli("config", "set", "gateway.port", '"eighteen"')
    assert r.returncode == 1 and "gateway.port: expected int, got str" in r.stderr
    assert home.config_path.read_bytes() == before  # nothing written

    r = home.cli("config", "unset", "channels")
    assert r.returncode == 0 and "stopping worker channel discord" in r.stdout
    assert home.cli("config", "get", "channels").returncode == 1
    assert home.cli("config", "validate").returncode == 0
    assert home.cli("config", "file").stdout.strip() == str(home.config_path)

    home.config_path.write_text('{gateway: {mode: "local",\n  port: 12x}}')
    r = home.cli("config", "validate", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["valid"] is False and out["issues"][0]["line"] == 2


def test_cli_config_set_without_a_running_gateway(home: Home) -> None:
    home.write_config(home.default_config())
    r = home.cli("config", "set", "channels.discord.enabled", "true")
    assert r.returncode == 0 and "No running gateway reached" in r.stdout
    assert json.loads(home.config_path.read_text())["channels"] == {"discord": {"enabled": True}}
    assert home.cli("config", "set", "agents.defaults.note", "1").returncode == 0
    r = home.cli("config", "set", "agents.defaults.note", "true")  # true is not 1: a change
    assert r.returncode == 0 and "nothing written" not in r.stdout
    assert json.loads(home.config_path.read_text())["agents"]["defaults"]["note"] is True


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


# --------------------------------------------------------------------------- found by adversarial testing


def test_get_edit_apply_round_trip_keeps_the_secret(gateway, home: Home) -> None:
    c = open_client(gateway.url)
    try:
        got = c.call("config.get")["payload"]
        raw = got["raw"].replace('"mode": "local"', '"mode": "local", "publicOrigin": "http://127.0.0.1"')
        res = c.call("config.apply", {"raw": raw, "baseHash": got["hash"]})
        assert res["ok"], res
        assert json.loads(home.config_path.read_text())["gateway"]["auth"]["token"] == TOKEN  # not the placeholder
        assert c.call("health")["ok"]  # no rotation: this connection stays
        res = c.call("config.patch", {"raw": '{hooks: {token: "__OPENCLAW_REDACTED__"}}', "baseHash": res["payload"]["hash"]})
        assert not res["ok"] and "redaction placeholder" in res["error"]["message"]  # nothing to restore it from
    finally:
        c.close()
    stranger = Client(gateway.url)
    assert stranger.hello(token="__OPENCLAW_REDACTED__")["ok"] is False
    stranger.close()


def test_a_flood_of_writes_is_bounded_and_retry_means_not_written(gateway, home: Home) -> None:
    c = open_client(gateway.url)
    try:
        ids = {c.request("config.patch", {"raw": "{meta: {flood: %d}}" % i}): i for i in range(60)}
        answers: dict = {}
        while len(answers) < len(ids):  # in any order: collect every answer
            f = c.recv(timeout=30)
            if f.get("type") == "res" and f["id"] in ids:
                answers[f["id"]] = f
        written = [ids[rid] for rid, a in answers.items() if a["ok"]]
        busy = [a for a in answers.values() if not a["ok"]]
        assert written and busy, "some writes go through, the excess is refused at once"
        assert all(a["error"]["code"] == "UNAVAILABLE" and a["error"]["details"]["reason"] == "config-busy" for a in busy)
        assert json.loads(home.config_path.read_text())["meta"]["flood"] == max(written)
        assert c.call("config.get")["payload"]["hash"] == home.config_hash()  # reads are not starved
    finally:
        c.close()


def test_write_limits_size_channels_and_noop(gateway, home: Home) -> None:
    c = open_client(gateway.url)
    try:
        before = home.config_path.read_bytes()
        res = c.call("config.patch", {"raw": '{meta: {big: "%s"}}' % ("a" * (2 * 1024 * 1024 - 20))})
        assert res["error"]["message"] == "the resulting config would be larger than 2097152 bytes"
        many = ",".join(f"c{i}: {{}}" for i in range(33))
        res = c.call("config.patch", {"raw": "{channels: {%s}}" % many})
        assert res["error"]["message"].startswith("invalid config: channels: at most 32 channels")
        assert home.config_path.read_bytes() == before
        inode = home.config_path.stat().st_ino
        res = c.call("config.patch", {"raw": "{}"})  # a patch that changes nothing
        assert res["ok"] and res["payload"]["changedPaths"] == []
        assert home.config_path.stat().st_ino == inode and home.config_path.read_bytes() == before  # not rewritten
    finally:
        c.close()


def test_a_symlinked_config_is_written_at_its_target(make_gateway, home: Home, tmp_path) -> None:
    target = tmp_path / "dotfiles" / "openclaw.json"
    target.parent.mkdir()
    target.write_text(json.dumps(home.default_config()))
    home.state_dir.mkdir(parents=True, exist_ok=True)
    home.config_path.symlink_to(target)
    gw = make_gateway(config=None)
    c = open_client(gw.url)
    try:
        assert c.call("config.patch", {"raw": "{meta: {x: 1}}"})["ok"]
    finally:
        c.close()
    assert home.config_path.is_symlink() and json.loads(target.read_text())["meta"] == {"x": 1}


def test_cli_set_takes_negative_numbers_and_warns_about_a_config_that_cannot_start(home: Home) -> None:
    home.write_config(home.default_config())
    r = home.cli("config", "set", "gateway.port", "-1")
    assert r.returncode == 1 and "gateway.port: expected int >= 0" in r.stderr  # a value, not an option
    r = home.cli("config", "unset", "gateway.mode")
    assert r.returncode == 0 and "a gateway would refuse to start with this config" in r.stdout
    r = home.cli("config", "validate", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["warnings"][0]["path"] == "<start>"
