"""The service lifecycle on a host with no service manager (this machine: PID 1 is not systemd; PATH is
also limited so no real manager is reached): setup → install → start (detached) → status → restart
(in-process: the supervisor keeps its PID) → stop → uninstall, with nothing left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from ..harness import Home, free_port, wait_for
from .service_kit import ServiceKit, wait_gone


@pytest.fixture
def kit(tmp_path: Path):
    k = ServiceKit(Home(tmp_path), tmp_path / "bin")
    try:
        yield k
    finally:
        k.kill_all()


def test_install_start_restart_stop_uninstall_without_a_service_manager(kit: ServiceKit) -> None:
    home = kit.home
    kit.ok("setup", "--port", str(free_port()), "--json")
    kit.ok("config", "set", "logging.file", str(home.log_file))

    installed = kit.ok("gateway", "install", "--json")
    unit = home.home / ".config/systemd/user/openclaw-gateway.service"
    assert installed["ok"] and installed["via"] == "process" and installed["managerAvailable"] is False
    assert installed["service"]["path"] == str(unit) and unit.exists()

    started = kit.ok("gateway", "start", "--json")
    pid = started["pid"]
    assert started["via"] == "process" and started["ready"]["rpcOk"] is True
    assert os.getsid(pid) == pid  # detached: its own session, no terminal
    assert kit.instance()["pid"] == pid
    assert started["service"]["process"] == {**started["service"]["process"], "pid": pid, "serviceStarted": True}
    assert psutil.Process(pid).cmdline()[0].startswith("openclaw-gateway: supervisor")
    log = Path(started["log"])
    assert log == kit.state_dir / "logs" / "gateway-service.log"
    wait_for(lambda: "openclaw gateway ready" in log.read_text(), 5, what="the gateway's output in the service log")

    again = kit.ok("gateway", "start", "--json")
    assert again["pid"] == pid and "already running" in again["message"]

    status = kit.ok("gateway", "status", "--json")
    assert status["rpc"]["ok"] is True

    restarted = kit.ok("gateway", "restart", "--json")
    assert restarted["via"] == "process" and restarted["pid"] == pid
    assert restarted["ready"]["pid"] == pid  # the supervisor kept its PID
    assert restarted["ready"]["generation"] == restarted["before"]["generation"] + 1
    assert restarted["ready"]["frontendPid"] != restarted["before"]["frontendPid"]
    assert restarted["ready"]["bootId"] != restarted["before"]["bootId"]  # a fresh boot, as upstream
    assert psutil.Process(pid).is_running()

    tree = {pid, *(k.pid for k in psutil.Process(pid).children(recursive=True))}
    stopped = kit.ok("gateway", "stop", "--json")
    assert stopped["via"] == "process" and stopped["pid"] == pid and stopped["ok"]
    wait_gone(tree, 5)
    assert kit.instance() is None
    nothing = kit.ok("gateway", "stop", "--json")
    assert nothing["ok"] and "nothing to stop" in nothing["message"] and "pid" not in nothing

    removed = kit.ok("gateway", "uninstall", "--json")
    assert set(removed["removed"]) >= {str(unit), str(kit.state_dir / "gateway.env")}
    assert not unit.exists() and not (kit.state_dir / "gateway.env").exists()
    assert not (kit.state_dir / "gateway-service.json").exists()
    assert kit.ok("gateway", "uninstall", "--json")["removed"] == []


def test_a_start_the_config_refuses_shows_the_gateways_words_and_exits_78(kit: ServiceKit) -> None:
    kit.ok("setup", "--port", str(free_port()))
    kit.ok("gateway", "install")
    config = json.loads(kit.home.config_path.read_text())
    config["gateway"]["mode"] = "remote"  # broken after install
    kit.home.config_path.write_text(json.dumps(config))
    result = kit.run("gateway", "start")
    assert result.returncode == 78, result.stdout + result.stderr
    assert "exited with code 78" in result.stderr
    assert "Gateway start blocked: set gateway.mode=local" in result.stderr  # the last lines of its output
    assert kit.instance() is None
    data = json.loads(kit.run("gateway", "start", "--json").stdout)
    assert data["ok"] is False and data["exitCode"] == 78 and data["via"] == "process"


def test_uninstall_stops_the_gateway_the_service_started(kit: ServiceKit) -> None:
    kit.ok("setup", "--port", str(free_port()))
    kit.ok("config", "set", "logging.file", str(kit.home.log_file))
    kit.ok("gateway", "install")
    pid = kit.ok("gateway", "start", "--json")["pid"]
    tree = {pid, *(k.pid for k in psutil.Process(pid).children(recursive=True))}
    out = kit.ok("gateway", "uninstall")
    assert f"Stopped the gateway the service started (pid {pid})" in out
    wait_gone(tree, 5)
    assert not (kit.home.home / ".config/systemd/user/openclaw-gateway.service").exists()


def test_a_token_given_to_install_is_what_every_later_command_uses(kit: ServiceKit) -> None:
    """`gateway install --token T` keeps T out of the unit (0600 env file); the service's gateway runs with it,
    and `health`/`status` from a shell with no token variable find it there (not the config's other token)."""
    kit.ok("setup", "--port", str(free_port()))
    kit.ok("config", "set", "logging.file", str(kit.home.log_file))
    token = "service-token-" + "s" * 30
    kit.ok("gateway", "install", "--token", token)
    unit = kit.home.home / ".config/systemd/user/openclaw-gateway.service"
    assert token not in unit.read_text()
    kit.ok("gateway", "start")
    health = kit.run("health", "--json")
    assert health.returncode == 0 and json.loads(health.stdout)["ok"] is True, health.stdout + health.stderr
    rpc = kit.ok("gateway", "status", "--json")["rpc"]
    assert rpc["ok"] is True and rpc["credentialSource"].startswith("service env file"), rpc
    config_token = kit.ok("config", "get", "gateway.auth.token", "--reveal", "--json")
    assert isinstance(config_token, str) and len(config_token) >= 24 and config_token != token  # the service's gateway refuses the config's token: the env file's wins
    refused = kit.run("health", "--token", str(config_token))
    assert refused.returncode == 1
    kit.ok("gateway", "stop")
