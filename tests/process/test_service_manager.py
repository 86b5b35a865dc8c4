"""The service-manager path, with stand-ins for `systemctl`, `journalctl` and `loginctl` on PATH (this
machine has no running systemd): which commands each verb sends, that it checks the state reached,
that a failed start shows the journal, and that linger is checked with its exact fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ..harness import Home
from .service_kit import ServiceKit

FAKE_SYSTEMCTL = '''#!{python}
"""A systemd stand-in: keeps unit states in $FAKE_SYSTEMD_STATE, logs every call."""
import json, os, sys
path = os.environ["FAKE_SYSTEMD_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {{"calls": [], "units": {{}}}}
args = sys.argv[1:]
state["calls"].append(args)
if args and args[0] == "--user":
    args = args[1:]
cmd, rest = args[0], [a for a in args[1:] if not a.startswith("-")]
unit = rest[0] if rest else None
units = state["units"]
code, out = 0, ""
if cmd == "show-environment":
    out = "PATH=/usr/bin\\n"
elif cmd in ("enable", "start", "restart") and unit:
    u = units.setdefault(unit, {{"active": "inactive", "pid": 0}})
    if cmd == "enable":
        u["enabled"] = True
    if cmd != "enable" or "--now" in args:
        failing = os.environ.get("FAKE_SYSTEMD_FAIL") == "1"
        u["active"] = "failed" if failing else "active"
        u["pid"] = 0 if failing else u["pid"] + 4242
        code = 1 if failing else 0
        if failing:
            sys.stderr.write(f"Job for {{unit}} failed because the control process exited with error code.\\n")
elif cmd in ("stop", "disable") and unit:
    u = units.setdefault(unit, {{"active": "inactive", "pid": 0}})
    if cmd == "stop" or "--now" in args:
        u["active"], u["pid"] = "inactive", 0
    if cmd == "disable":
        u["enabled"] = False
elif cmd == "show" and unit:
    u = units.get(unit)
    load = "loaded" if u else "not-found"
    u = u or {{"active": "inactive", "pid": 0}}
    out = f"LoadState={{load}}\\nActiveState={{u['active']}}\\nSubState=running\\nMainPID={{u['pid']}}\\n"
json.dump(state, open(path, "w"))
sys.stdout.write(out)
sys.exit(code)
'''
FAKE_JOURNALCTL = '''#!/bin/sh
echo "openclaw gateway: Gateway start blocked: set gateway.mode=local"
'''
FAKE_LOGINCTL = '''#!/bin/sh
echo "Linger=no"
'''


@pytest.fixture
def kit(tmp_path: Path) -> ServiceKit:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("systemctl", FAKE_SYSTEMCTL.format(python=sys.executable)), ("journalctl", FAKE_JOURNALCTL),
                       ("loginctl", FAKE_LOGINCTL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    k = ServiceKit(Home(tmp_path), bin_dir, FAKE_SYSTEMD_STATE=str(tmp_path / "systemd.json"))
    k.ok("setup", "--port", "24101")
    return k


def _calls(kit: ServiceKit) -> list[list[str]]:
    path = Path(kit.extra_env["FAKE_SYSTEMD_STATE"])
    calls = json.loads(path.read_text())["calls"]
    path.write_text(json.dumps({**json.loads(path.read_text()), "calls": []}))
    return [c for c in calls if c[1:] != ["show-environment"] and c[1] != "show"]


UNIT = "openclaw-gateway.service"


def test_the_verbs_drive_systemctl_and_check_the_state_reached(kit: ServiceKit) -> None:
    out = kit.ok("gateway", "install", "--json")
    assert out["via"] == "systemd" and out["ok"] and out["pid"] == 4242
    assert _calls(kit) == [["--user", "daemon-reload"], ["--user", "reset-failed", UNIT], ["--user", "enable", UNIT],
                           ["--user", "start", UNIT]]
    assert out["service"]["managerAvailable"] is True and out["service"]["state"] == "running"
    assert out["service"]["stateSource"] == "systemd" and out["service"]["mainPid"] == 4242
    assert out["linger"] == {"user": out["linger"]["user"], "enabled": False, "source": "loginctl",
                             "fix": f"sudo loginctl enable-linger {out['linger']['user']}"}
    assert any(f"Fix: sudo loginctl enable-linger {out['linger']['user']}" in h for h in out["hints"])

    running = kit.ok("gateway", "start", "--json")
    assert running["via"] == "systemd" and "already running" in running["message"] and _calls(kit) == []

    restarted = kit.ok("gateway", "restart", "--json")
    assert restarted["via"] == "systemd" and restarted["pid"] == 8484
    assert _calls(kit) == [["--user", "reset-failed", UNIT], ["--user", "restart", UNIT]]

    stopped = kit.ok("gateway", "stop", "--json")
    assert stopped["via"] == "systemd" and stopped["service"]["state"] == "stopped"
    assert _calls(kit) == [["--user", "stop", UNIT]]

    service_start = kit.ok("service", "start", "--json")  # the seed's alias
    assert service_start["via"] == "systemd" and service_start["service"]["state"] == "running"
    assert _calls(kit) == [["--user", "reset-failed", UNIT], ["--user", "start", UNIT]]

    disabled = kit.ok("gateway", "stop", "--disable", "--json")
    assert disabled["via"] == "systemd" and "disabled" in disabled["message"]
    assert _calls(kit) == [["--user", "disable", "--now", UNIT]]

    removed = kit.ok("gateway", "uninstall", "--json")
    assert removed["via"] == "systemd" and str(kit.home.home / ".config/systemd/user" / UNIT) in removed["removed"]
    assert _calls(kit) == [["--user", "disable", "--now", UNIT], ["--user", "daemon-reload"], ["--user", "reset-failed", UNIT]]


def test_a_failed_start_says_so_with_the_journal(kit: ServiceKit) -> None:
    kit.extra_env["FAKE_SYSTEMD_FAIL"] = "1"
    result = kit.run("gateway", "install")
    assert result.returncode == 1
    assert "systemd could not load the service" in result.stderr and "failed because the control process" in result.stderr
    assert "Gateway start blocked" in result.stderr  # journalctl's lines
    data = json.loads(kit.run("gateway", "start", "--json").stdout)
    assert data["ok"] is False and data["via"] == "systemd" and "could not start" in data["error"]


def test_start_refuses_when_a_manager_runs_but_nothing_is_installed(kit: ServiceKit) -> None:
    result = kit.run("gateway", "start")
    assert result.returncode == 1 and "not installed" in result.stderr and "gateway install" in result.stderr
    assert _calls(kit) == []
