"""What `openclaw setup`, `onboard` and `gateway install|uninstall` write, run as a user would (no gateway
is started here): a minimal config written once, units that systemd itself accepts, secrets only in an
owner-only file, launchd and Windows definitions, idempotent install, complete uninstall, clear refusals."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openclaw.cli.service.launchd_plist import REQUIRED_KEYS
from openclaw.cli.service.systemd_unit import sections
from openclaw.ipc.paths import profile_default_port

from ..harness import Home
from .service_kit import ServiceKit

TOKEN = "install-test-token-0123456789abcdef"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


@pytest.fixture
def kit(tmp_path: Path) -> ServiceKit:
    return ServiceKit(Home(tmp_path), tmp_path / "bin", OPENCLAW_SYSTEMD_SYSTEM_DIR=str(tmp_path / "etc-systemd"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_setup_writes_a_minimal_config_once(kit: ServiceKit) -> None:
    out = kit.ok("setup", "--json")
    config_path = kit.home.config_path
    config = json.loads(config_path.read_text())
    assert out["written"] is True and out["path"] == str(config_path) and out["tokenGenerated"] is True
    assert config["gateway"]["mode"] == "local" and config["gateway"]["port"] == 18789
    assert len(config["gateway"]["auth"]["token"]) == 43  # secrets.token_urlsafe(32)
    assert _mode(config_path) == 0o600 and _mode(config_path.parent) == 0o700
    assert config["gateway"]["auth"]["token"] not in json.dumps(out)
    before = config_path.read_bytes()
    again = kit.ok("setup", "--json")
    assert again["written"] is False and config_path.read_bytes() == before
    refused = kit.run("setup", "--port", "20001")
    assert refused.returncode == 1 and "--force" in refused.stderr and config_path.read_bytes() == before
    kit.ok("setup", "--port", "20001", "--token", TOKEN, "--force")
    assert json.loads(config_path.read_text())["gateway"] == {**config["gateway"], "port": 20001, "auth": {"mode": "token", "token": TOKEN}}
    assert config_path.with_name("openclaw.json.bak").read_bytes() == before
    assert kit.run("setup", "--token", " ", "--force").returncode == 2
    assert kit.run("setup", "--port", "70000").returncode == 2


def test_dev_and_profile_setup_use_their_own_state_dir_and_port(kit: ServiceKit) -> None:
    kit.ok("--dev", "setup")
    dev = json.loads((kit.home.home / ".openclaw-dev" / "openclaw.json").read_text())
    assert dev["gateway"]["port"] == 19001
    kit.ok("--profile", "rescue", "setup")
    rescue = json.loads((kit.home.home / ".openclaw-rescue" / "openclaw.json").read_text())
    assert rescue["gateway"]["port"] == profile_default_port("rescue")
    assert not kit.home.config_path.exists()


def test_install_writes_a_unit_with_the_secret_only_in_an_owner_only_file(kit: ServiceKit) -> None:
    refused = kit.run("gateway", "install")
    assert refused.returncode == 78 and "openclaw setup" in refused.stderr  # no config: the service could not start
    kit.ok("setup", "--port", "24001")
    out = kit.ok("gateway", "install", "--token", TOKEN, "--json")
    unit = kit.home.home / ".config/systemd/user/openclaw-gateway.service"
    env_file = kit.state_dir / "gateway.env"
    assert out["action"] == "install" and out["ok"] and out["changed"] is True
    assert out["service"]["path"] == str(unit) and out["port"] == 24001 and out["portSource"] == "config gateway.port"
    assert out["linger"]["enabled"] is not True and "loginctl enable-linger" in " ".join(out["hints"])
    text = unit.read_text()
    assert TOKEN not in text and TOKEN not in json.dumps(out)
    assert f'OPENCLAW_GATEWAY_TOKEN="{TOKEN}"' in env_file.read_text()
    assert _mode(env_file) == 0o600 and env_file.stat().st_uid == os.getuid()
    service = dict(sections(text)["Service"])
    assert service["ExecStart"].endswith("openclaw gateway run --port 24001")
    assert service["EnvironmentFile"] == str(env_file)

    same = kit.ok("gateway", "install", "--port", "24002", "--json")  # installed: a no-op that says so
    assert same["changed"] is False and "already installed" in same["message"] and unit.read_text() == text
    forced = kit.ok("gateway", "install", "--force", "--port", "24002", "--json")
    assert forced["changed"] is True and "--port 24002" in unit.read_text()
    status = kit.ok("gateway", "install", "--json")  # the unit now disagrees with gateway.port
    assert any("port: the service runs --port 24002 but config gateway.port is 24001" in h for h in status["hints"])


def test_allow_unconfigured_is_passed_to_the_gateway(kit: ServiceKit) -> None:
    out = kit.ok("--profile", "bare", "gateway", "install", "--allow-unconfigured", "--json")
    assert out["command"][-1] == "--allow-unconfigured"
    assert f"--port {profile_default_port('bare')}" in " ".join(out["command"])


def _verify(unit: Path, user: bool, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run([SYSTEMD_ANALYZE, "verify", *(["--user"] if user else []), str(unit)],
                          capture_output=True, text=True, timeout=60, env=env, cwd=unit.parent, check=False)


def test_generated_units_pass_systemd_analyze_verify(kit: ServiceKit, tmp_path: Path) -> None:
    kit.ok("setup", "--port", "24011")
    kit.ok("--profile", "rescue", "setup", "--port", "24012")
    kit.ok("gateway", "install", "--token", TOKEN)
    kit.ok("--profile", "rescue", "gateway", "install")
    kit.ok("gateway", "install", "--system")
    user_dir = kit.home.home / ".config/systemd/user"
    units = [(user_dir / "openclaw-gateway.service", True), (user_dir / "openclaw-gateway-rescue.service", True),
             (tmp_path / "etc-systemd" / "openclaw-gateway.service", False)]
    assert "User=" in units[2][0].read_text() and "WorkingDirectory=" in units[2][0].read_text()
    probe = subprocess.run([SYSTEMD_ANALYZE, "--version"], capture_output=True, text=True, timeout=30, check=False) \
        if os.access(SYSTEMD_ANALYZE, os.X_OK) else None
    if probe is None or probe.returncode != 0:
        pytest.skip(f"systemd-analyze cannot run here ({SYSTEMD_ANALYZE}): the units were written but not verified")
    for unit, user in units:
        result = _verify(unit, user, tmp_path)
        assert result.returncode == 0, f"{unit}:\n{result.stdout}{result.stderr}"
        # warnings (unknown keys, bad values) do not change the exit code: there must be none
        assert unit.name not in result.stdout + result.stderr, result.stdout + result.stderr


def test_launchd_and_windows_definitions_are_written_and_valid(kit: ServiceKit) -> None:
    kit.ok("--profile", "rescue", "setup", "--port", "24021")
    mac = kit.ok("--profile", "rescue", "gateway", "install", "--platform", "darwin", "--json")
    plist_path = kit.home.home / "Library/LaunchAgents/ai.openclaw.rescue.plist"
    assert mac["service"]["path"] == str(plist_path) and mac["service"]["manager"] == "launchd"
    plist = plistlib.loads(plist_path.read_bytes())
    assert all(k in plist for k in REQUIRED_KEYS) and plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["ProgramArguments"][-6:] == ["--profile", "rescue", "gateway", "run", "--port", "24021"]

    win = kit.ok("--profile", "rescue", "gateway", "install", "--platform", "win32", "--json")
    state = kit.home.home / ".openclaw-rescue"
    task = ET.fromstring((state / "gateway-task.xml").read_bytes())
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert task.find("t:Actions/t:Exec/t:Command", ns).text == str(state / "gateway.cmd")
    assert task.find("t:Triggers/t:LogonTrigger", ns) is not None
    assert win["service"]["label"] == "OpenClaw Gateway (rescue)"
    assert "--profile rescue gateway run --port 24021" in (state / "gateway.cmd").read_text()

    for platform, files in (("darwin", [plist_path]), ("win32", [state / "gateway-task.xml", state / "gateway.cmd"])):
        out = kit.ok("--profile", "rescue", "gateway", "uninstall", "--platform", platform, "--json")
        assert sorted(out["removed"]) == sorted(map(str, files))
        assert not any(f.exists() for f in files)


def test_a_token_for_launchd_goes_to_the_state_token_file_not_the_plist(kit: ServiceKit) -> None:
    kit.home.write_config({"gateway": {"mode": "local", "port": 24031}})  # no token in the config
    kit.ok("gateway", "install", "--platform", "darwin", "--token", TOKEN)
    plist = kit.home.home / "Library/LaunchAgents/ai.openclaw.gateway.plist"
    assert TOKEN.encode() not in plist.read_bytes()
    token_file = kit.state_dir / "gateway.token"
    assert token_file.read_text().strip() == TOKEN and _mode(token_file) == 0o600
    kit.home.write_config({"gateway": {"mode": "local", "auth": {"token": "another-token-0123456789abcdef"}}})
    refused = kit.run("gateway", "install", "--platform", "darwin", "--force", "--token", TOKEN)
    assert refused.returncode == 2 and "config set gateway.auth.token" in refused.stderr


def test_onboard_install_daemon_sets_up_and_installs(kit: ServiceKit) -> None:
    out = kit.ok("--profile", "ops", "onboard", "--mode", "local", "--install-daemon", "--non-interactive", "--json")
    assert out["ok"] and [s["action"] for s in out["steps"]] == ["setup", "install"]
    assert (kit.home.home / ".config/systemd/user/openclaw-gateway-ops.service").exists()
    assert json.loads((kit.home.home / ".openclaw-ops/openclaw.json").read_text())["gateway"]["mode"] == "local"
    again = kit.ok("--profile", "ops", "onboard", "--install-daemon", "--json")  # keeps both
    assert again["steps"][0]["written"] is False and again["steps"][1]["changed"] is False
    remote = kit.run("onboard", "--mode", "remote")
    assert remote.returncode == 2 and "gateway.remote.url" in remote.stderr


REFUSED = [
    (["gateway", "install", "--runtime", "node"], "only --runtime python"),
    (["gateway", "install", "--runtime-path", "/usr/bin/node"], "--runtime-path is not supported"),
    (["gateway", "install", "--wrapper", "relative/tool"], "absolute path of an executable"),
    (["gateway", "install", "--port", "0"], "fixed port"),
    (["gateway", "install", "--system", "--platform", "darwin"], "--system is for systemd"),
    (["gateway", "install", "--platform", "beos"], "--platform beos"),
    (["gateway", "stop", "--disable"], "nothing would restart it"),
    (["gateway", "restart", "--skip-deferral"], "--skip-deferral requires --safe"),
    (["gateway", "restart", "--wait", "5s", "--force"], "--wait is for plain restarts"),
]


def test_flags_that_cannot_apply_are_refused_with_exit_2(kit: ServiceKit) -> None:
    for i, (args, words) in enumerate(REFUSED):
        as_json = i % 4 == 0  # the JSON form for some, to keep the test short
        result = kit.run(*args, *(["--json"] if as_json else []))
        assert result.returncode == 2, f"{args}: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr
        if as_json:
            data = json.loads(result.stdout)
            assert data["ok"] is False and words in data["error"], data
        else:
            assert words in result.stderr, result.stderr
