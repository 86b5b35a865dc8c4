"""`openclaw doctor` as an operator runs it: a healthy gateway, a broken setup, and `--fix`."""

from __future__ import annotations

import json
import signal
import stat
from typing import Any

from ..harness import Home, wait_for

WEAK_TOKEN = "short-token"  # 11 characters: the gateway starts with a warning


def _checks(stdout: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in json.loads(stdout)["checks"]}


def test_doctor_on_a_healthy_gateway_exits_0(make_gateway, home: Home) -> None:
    home.write_config(home.default_config())
    home.config_path.chmod(0o600)
    gw = make_gateway()
    r = home.cli("doctor", "--non-interactive", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OpenClaw doctor" in r.stdout and "0 failed" in r.stdout
    assert f"held by this profile's gateway (pid {gw.pid})" in r.stdout
    r = home.cli("doctor", "--json")
    assert r.returncode == 0, r.stdout
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["changes"] == []
    checks = {c["id"]: c for c in out["checks"]}
    for family in ("config.valid", "config.mode", "port", "instance.record", "instance.lock", "perms.state-dir",
                   "perms.config", "auth.token", "logs.dir", "service.drift", "neighbours.port"):
        assert checks[family]["status"] == "ok", checks[family]
    assert "never stale" not in checks["instance.lock"]["message"]  # held by the running gateway
    assert all(c["status"] in ("ok", "warn") and c["message"] for c in out["checks"])


def test_doctor_names_each_problem_of_a_broken_setup_and_fix_repairs_the_safe_ones(make_gateway, home: Home) -> None:
    cfg = home.default_config()
    cfg["gateway"]["auth"]["token"] = WEAK_TOKEN
    home.write_config(cfg)
    gw = make_gateway(config=cfg)
    killed = gw.pid
    gw.signal(signal.SIGKILL)  # leaves its instance record behind
    gw.wait_exit()
    wait_for(lambda: not gw.alive_known(), 10, what="the killed gateway's children exit")
    del cfg["gateway"]["mode"]  # a clobbered config
    home.write_config(cfg)
    home.config_path.chmod(0o644)
    home.state_dir.chmod(0o755)

    r = home.cli("doctor")
    assert r.returncode == 1, r.stdout + r.stderr
    for check_id in ("config.mode", "instance.record", "perms.state-dir", "perms.config", "auth.token"):
        assert check_id in r.stdout
    assert "can be repaired with `openclaw doctor --fix`" in r.stdout
    r = home.cli("doctor", "--json")
    assert r.returncode == 1
    checks = _checks(r.stdout)
    assert checks["config.mode"]["status"] == "fail" and "gateway.mode is not set" in checks["config.mode"]["message"]
    assert "config set gateway.mode local" in checks["config.mode"]["fix"]
    assert checks["instance.record"]["status"] == "warn"
    assert f"pid {killed}" in checks["instance.record"]["message"] and "not running" in checks["instance.record"]["message"]
    assert "never stale" in checks["instance.lock"]["message"] and checks["instance.lock"]["status"] == "ok"
    assert checks["perms.state-dir"]["status"] == "fail" and "0755" in checks["perms.state-dir"]["message"]
    assert checks["perms.config"]["status"] == "fail" and "0644" in checks["perms.config"]["message"]
    assert checks["auth.token"]["status"] == "warn" and "11 characters" in checks["auth.token"]["message"]

    r = home.cli("doctor", "--fix", "--json")
    assert r.returncode == 1  # gateway.mode is the operator's call, not a safe repair
    out = json.loads(r.stdout)
    changed = {c["check"]: c["action"] for c in out["changes"]}
    assert set(changed) == {"instance.record", "perms.state-dir", "perms.config"}, out["changes"]
    assert "chmod 700" in changed["perms.state-dir"] and "(was 0755)" in changed["perms.state-dir"]
    assert f"pid {killed}" in changed["instance.record"]
    checks = {c["id"]: c for c in out["checks"]}
    for check_id in changed:
        assert checks[check_id]["status"] == "ok" and checks[check_id]["fixed"] is True, checks[check_id]
    assert checks["config.mode"]["status"] == "fail" and "fixed" not in checks["config.mode"]
    assert stat.S_IMODE(home.state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.config_path.stat().st_mode) == 0o600
    assert not (home.state_dir / "gateway.instance.json").exists()
    assert not list((home.home / ".local" / "state" / "openclaw" / "gateways").glob("*.json"))

    r = home.cli("config", "set", "gateway.mode", "local")
    assert r.returncode == 0, r.stderr
    r = home.cli("doctor")
    assert r.returncode == 0, r.stdout  # the weak token stays a warning
    assert "0 failed, 1 warning" in r.stdout
    r = home.cli("doctor", "--fix")
    assert r.returncode == 0 and "Changes: none needed" in r.stdout


def test_doctor_reports_an_unusable_config_without_a_traceback(home: Home) -> None:
    home.write_config('{gateway: {mode: "local",, }}')
    r = home.cli("doctor", "--json")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    check = _checks(r.stdout)["config.valid"]
    assert check["status"] == "fail" and f"{home.config_path}:1:" in check["message"]
