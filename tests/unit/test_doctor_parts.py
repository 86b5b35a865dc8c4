"""The pure parts behind `openclaw doctor`, the busy-port hints and the profile-conflict rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from openclaw.cli.doctor import log_checks, service_checks, token_checks
from openclaw.cli.doctor.context import build_context
from openclaw.cli.doctor.model import FAIL, OK, WARN
from openclaw.cli.service.view import ServiceView
from openclaw.ipc.paths import ProfileConflict, resolve_paths
from openclaw.ipc.port_owners import PortOwner, stop_hint, systemd_unit_of
from openclaw.ipc.version import GATEWAY_VERSION


@pytest.fixture
def ctx(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    paths = resolve_paths(None, {"HOME": str(home)})
    return build_context(paths, env={})


def test_disk_verdict_thresholds() -> None:
    mib = 1024 * 1024
    assert log_checks.disk_verdict(99 * mib) == FAIL
    assert log_checks.disk_verdict(100 * mib) == WARN
    assert log_checks.disk_verdict(1023 * mib) == WARN
    assert log_checks.disk_verdict(1024 * mib) == OK


def test_token_judged_as_the_gateway_judges_it(ctx) -> None:
    judge = token_checks.judge_secret
    assert judge("changeme", "src", "token", ctx).status == FAIL
    assert judge("  ", "src", "token", ctx).status == FAIL
    weak = judge("a" * 23, "src", "token", ctx)
    assert weak.status == WARN and "23 characters" in weak.message and "openssl rand" in (weak.fix or "")
    assert judge("a" * 24, "src", "token", ctx).status == OK
    assert judge({"source": "env"}, "src", "token", ctx).status == WARN


def test_unit_drift_compares_port_program_and_version(tmp_path: Path) -> None:
    prog = tmp_path / "openclaw"
    prog.write_text("#!/bin/sh\n")
    assert service_checks.drift({"port": 18789, "program": str(prog), "version": GATEWAY_VERSION}, 18789, prog) == []
    found = service_checks.drift({"port": 1, "program": "/nope/openclaw", "version": "0.0.0"}, 18789, prog)
    assert [s for s, _ in found] == [FAIL, FAIL, WARN]
    assert "port 1" in found[0][1] and "/nope/openclaw does not exist" in found[1][1] and "0.0.0" in found[2][1]
    other = tmp_path / "other-openclaw"
    other.write_text("")
    assert service_checks.drift({"program": str(other)}, 1, prog) == [(WARN, f"it runs {other}, this CLI is {prog}")]
    assert service_checks.drift({}, 1, None) == []  # fields not documented yet are not judged


def _view(tmp_path: Path, definition: dict | None) -> ServiceView:
    path = tmp_path / "openclaw-gateway.service"
    path.write_text("[Service]\n")
    return ServiceView("linux", "systemd-user", "openclaw-gateway.service", path, installed=True, definition=definition)


def test_unit_drift_repair_reinstalls_and_keeps_the_token(tmp_path: Path, monkeypatch) -> None:
    """doctor --fix on a unit whose port drifted: `install --force` rewrites it, the env file keeps the token."""
    import json

    from openclaw.cli.service.install import install

    monkeypatch.setenv("PATH", str(tmp_path / "no-service-manager"))  # no systemctl: files only
    home = tmp_path / "home"
    paths = resolve_paths(None, {"HOME": str(home)})
    paths.state_dir.mkdir(parents=True, mode=0o700)
    token = "t" * 40
    paths.config_path.write_text(json.dumps({"gateway": {"mode": "local", "port": 21111}}))
    assert install(paths, "linux", False, port=None, token=token, runtime="python", runtime_path=None, wrapper=None,
                   force=False, allow_unconfigured=False).ok
    paths.config_path.write_text(json.dumps({"gateway": {"mode": "local", "port": 22222}}))
    drifted = [f for f in service_checks.check(build_context(paths, env={})) if f.id == "service.drift"]
    assert drifted and drifted[0].status == FAIL and "21111" in drifted[0].message, drifted
    assert "reinstalled" in drifted[0].repair()
    unit = (home / ".config/systemd/user/openclaw-gateway.service").read_text()
    assert "--port 22222" in unit and token not in unit
    assert f'OPENCLAW_GATEWAY_TOKEN="{token}"' in (paths.state_dir / "gateway.env").read_text()
    [again] = [f for f in service_checks.check(build_context(paths, env={})) if f.id == "service.drift"]
    assert again.status == OK, again
    [unreadable] = service_checks.check(build_context(paths, env={}), _view(tmp_path, None))
    assert unreadable.status == WARN and unreadable.repair is not None


def test_systemd_unit_from_cgroup() -> None:
    user = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/openclaw-gateway-main.service\n"
    assert systemd_unit_of(user) == ("openclaw-gateway-main.service", True)
    assert systemd_unit_of("0::/system.slice/openclaw-gateway.service\n") == ("openclaw-gateway.service", False)
    assert systemd_unit_of("0::/user.slice/user-1000.slice/session-3.scope\n") is None
    assert systemd_unit_of("0::/\n") is None


def test_stop_hint_for_each_kind_of_holder(tmp_path: Path) -> None:
    home = tmp_path
    service = PortOwner("gateway-service", 10, "openclaw-gateway: supervisor [main]", profile="main",
                        unit="openclaw-gateway-main.service", user_unit=True)
    assert "`systemctl --user stop openclaw-gateway-main.service`" in stop_hint(service, home)
    system = PortOwner("gateway-service", 10, "", profile="default", unit="openclaw-gateway.service")
    assert "`sudo systemctl stop openclaw-gateway.service`" in stop_hint(system, home)
    detached = PortOwner("gateway", 11, "", profile="rescue", state_dir=str(home / ".openclaw-rescue"))
    assert stop_hint(detached, home).endswith("stop it with `openclaw --profile rescue gateway stop`")
    custom = PortOwner("gateway", 11, "", profile="default", state_dir="/srv/gw")
    assert "`OPENCLAW_STATE_DIR=/srv/gw openclaw gateway stop`" in stop_hint(custom, home)
    foreground = PortOwner("gateway", 12, "", profile="default", state_dir=str(home / ".openclaw"), terminal="/dev/pts/4")
    assert "on /dev/pts/4: press Ctrl-C in its terminal, or run `openclaw gateway stop`" in stop_hint(foreground, home)
    elsewhere = PortOwner("gateway-elsewhere", 13, "", profile="x")
    assert "`kill -TERM 13`" in stop_hint(elsewhere, home) and "gateway stop" not in stop_hint(elsewhere, home)
    foreign = PortOwner("foreign", 14, "nc -l 18789")
    assert "not an OpenClaw gateway" in stop_hint(foreign, home) and "gateway stop" not in stop_hint(foreign, home)
    assert "ask its owner" in stop_hint(PortOwner("hidden", None, ""), home)


def test_profile_conflict_rule(tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {"HOME": str(home)}
    assert resolve_paths("rescue", env | {"OPENCLAW_STATE_DIR": str(home / ".openclaw-rescue")}).profile == "rescue"
    assert resolve_paths("rescue", env | {"OPENCLAW_STATE_DIR": str(tmp_path / "neutral")}).state_dir == tmp_path / "neutral"
    assert resolve_paths(None, env | {"OPENCLAW_STATE_DIR": str(home / ".openclaw-main")}).profile is None
    with pytest.raises(ProfileConflict, match='profile "rescue" \\(--profile rescue\\) conflicts'):
        resolve_paths("rescue", env | {"OPENCLAW_STATE_DIR": str(home / ".openclaw-main")})
    with pytest.raises(ProfileConflict, match="OPENCLAW_PROFILE=rescue"):
        resolve_paths(None, env | {"OPENCLAW_PROFILE": "rescue", "OPENCLAW_STATE_DIR": str(home / ".openclaw")})
    with pytest.raises(ProfileConflict, match='the config of profile "default"'):
        resolve_paths("dev", env | {"OPENCLAW_CONFIG_PATH": str(home / ".openclaw" / "openclaw.json")}, source="--dev")
    # an explicit default profile is a profile too
    with pytest.raises(ProfileConflict):
        resolve_paths("default", env | {"OPENCLAW_STATE_DIR": str(home / ".openclaw-dev")})
    # OPENCLAW_HOME moves the profile dirs; HOME's are still recognised
    with pytest.raises(ProfileConflict):
        resolve_paths("rescue", env | {"OPENCLAW_HOME": str(tmp_path / "oh"), "OPENCLAW_STATE_DIR": str(home / ".openclaw-main")})
