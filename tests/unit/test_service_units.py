"""Service definitions without processes: the systemd unit, the launchd plist and the Windows task as
rendered from a spec, read back, and judged for drift; the small parsers the lifecycle verbs use."""

from __future__ import annotations

import os
import plistlib
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openclaw.cli.service import launchd_plist, systemd_unit, windows_task
from openclaw.cli.service.definition import parse_env_file, render_env_file
from openclaw.cli.service.layout import SYSTEM_DIR_ENV, layout_for
from openclaw.cli.service.lifecycle import _restart_flags, parse_duration_ms
from openclaw.cli.service.outcome import UsageProblem
from openclaw.cli.service.spec import build_spec, openclaw_program, resolve_service_port
from openclaw.cli.service.view import (
    drift_issues,
    inspect_profile_service,
    inspect_service,
    other_services,
)
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.paths import Paths, profile_default_port, resolve_paths
from openclaw.ipc.version import GATEWAY_VERSION

TOKEN = "unit-test-token-0123456789abcdef"


def _paths(tmp_path: Path, profile: str | None = None) -> Paths:
    home = tmp_path / "home"
    return resolve_paths(profile, {"HOME": str(home), "OPENCLAW_HOME": str(home)})


def _spec(tmp_path: Path, profile: str | None = None, platform: str = "linux", system: bool = False, **kw):
    paths = _paths(tmp_path, profile)
    env = {SYSTEM_DIR_ENV: str(tmp_path / "etc")}
    layout = layout_for(paths, platform, system, env=env)
    return paths, build_spec(paths, layout, {"gateway": {"mode": "local", "port": 24680}}, env={}, **kw)


def _service_keys(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in systemd_unit.sections(text)["Service"]:
        out.setdefault(key, []).append(value)
    return out


def test_the_user_unit_is_a_notify_service_with_watchdog_and_no_restart_loop_on_exit_78(tmp_path: Path) -> None:
    paths, spec = _spec(tmp_path, token=TOKEN)
    text = systemd_unit.render(spec)
    keys = _service_keys(text)
    assert spec.layout.definition_path == paths.home / ".config/systemd/user/openclaw-gateway.service"
    expected = {
        "Type": "notify", "NotifyAccess": "main", "Restart": "always", "RestartPreventExitStatus": "78",
        "SuccessExitStatus": "0 143", "KillMode": "mixed",
    }
    for key, value in expected.items():
        assert keys[key] == [value], key
    for key in ("WatchdogSec", "RestartSec", "TimeoutStartSec", "TimeoutStopSec"):
        assert int(keys[key][0]) > 0, key
    program = openclaw_program()
    assert program == [str(Path(sys.executable).with_name("openclaw"))]  # the venv's script, absolute
    assert keys["ExecStart"] == [" ".join([*program, "gateway", "run", "--port", "24680"])]
    env = keys["Environment"]
    assert '"OPENCLAW_SERVICE_MARKER=openclaw"' in env
    assert '"OPENCLAW_SERVICE_KIND=gateway"' in env
    assert f'"OPENCLAW_SERVICE_VERSION={GATEWAY_VERSION}"' in env
    assert keys["EnvironmentFile"] == [str(paths.state_dir / "gateway.env")]
    assert TOKEN not in text and "OPENCLAW_GATEWAY_TOKEN" not in text  # the secret is only in the env file
    assert spec.secrets == {"OPENCLAW_GATEWAY_TOKEN": TOKEN}
    assert "User" not in keys  # a user unit runs as its user
    assert "WantedBy=default.target" in text


def test_a_profile_unit_has_its_own_name_port_and_profile(tmp_path: Path) -> None:
    paths, spec = _spec(tmp_path, profile="rescue")
    spec_default_port = build_spec(paths, spec.layout, {}, env={})
    assert spec.layout.label == "openclaw-gateway-rescue.service"
    assert spec_default_port.port == profile_default_port("rescue") and spec_default_port.port_source == "default"
    definition = systemd_unit.parse(systemd_unit.render(spec))
    assert definition.profile == "rescue" and definition.port == 24680
    assert definition.argv[-6:] == ["--profile", "rescue", "gateway", "run", "--port", "24680"]
    assert definition.env["OPENCLAW_PROFILE"] == "rescue"
    assert definition.version == GATEWAY_VERSION and definition.marker == "openclaw"


def test_a_system_unit_goes_to_the_system_dir_with_user_and_working_directory(tmp_path: Path) -> None:
    paths, spec = _spec(tmp_path, system=True)
    assert spec.layout.definition_path == tmp_path / "etc" / "openclaw-gateway.service"
    keys = _service_keys(systemd_unit.render(spec))
    assert keys["User"] == [spec.user] and spec.user
    assert keys["WorkingDirectory"] == [str(paths.home)]
    # the system manager knows nothing of this shell: the paths are explicit
    assert f'"OPENCLAW_STATE_DIR={paths.state_dir}"' in keys["Environment"]
    assert f'"OPENCLAW_CONFIG_PATH={paths.config_path}"' in keys["Environment"]


def test_exec_start_quoting_survives_spaces_percent_and_dollar(tmp_path: Path) -> None:
    _, spec = _spec(tmp_path)
    spec.argv = ["/opt/my tools/openclaw", "gateway", "run", "--port", "1", "a%b", "c$d", 'q"x']
    spec.env["OPENCLAW_CONFIG_PATH"] = "/cfg dir/100%/x.json"
    definition = systemd_unit.parse(systemd_unit.render(spec))
    assert definition.argv == spec.argv
    assert definition.env["OPENCLAW_CONFIG_PATH"] == "/cfg dir/100%/x.json"


def test_the_env_file_round_trips_quotes() -> None:
    values = {"OPENCLAW_GATEWAY_TOKEN": 'a"b\\c d'}
    assert parse_env_file(render_env_file(values, "header")) == values


def test_the_launchd_plist_restarts_only_on_crash_and_carries_no_secret(tmp_path: Path) -> None:
    paths, spec = _spec(tmp_path, profile="rescue", platform="darwin", token=TOKEN)
    data = launchd_plist.render(spec)
    plist = plistlib.loads(data)
    assert spec.layout.definition_path == paths.home / "Library/LaunchAgents/ai.openclaw.rescue.plist"
    assert all(k in plist for k in launchd_plist.REQUIRED_KEYS)
    assert plist["Label"] == "ai.openclaw.rescue"
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["RunAtLoad"] is True and plist["ThrottleInterval"] > 0
    assert plist["ProgramArguments"][-6:] == ["--profile", "rescue", "gateway", "run", "--port", "24680"]
    assert plist["EnvironmentVariables"]["OPENCLAW_SERVICE_MARKER"] == "openclaw"
    assert plist["StandardOutPath"] == str(paths.state_dir / "logs" / "gateway-service.log")
    assert TOKEN.encode() not in data
    definition = launchd_plist.parse(data)
    assert definition.port == 24680 and definition.profile == "rescue"
    assert launchd_plist.parse(plistlib.dumps({"Label": "x"})).extra["launchd"]["missingKeys"]


def test_the_windows_task_runs_the_launcher_at_logon_and_restarts_on_failure(tmp_path: Path) -> None:
    paths, spec = _spec(tmp_path, profile="rescue", platform="win32", token=TOKEN)
    data = windows_task.render_task(spec)
    assert data[:2] == b"\xff\xfe"  # UTF-16 with a BOM, as schtasks /XML expects
    root = ET.fromstring(data)
    ns = {"t": windows_task.TASK_NS}
    assert root.find("t:Triggers/t:LogonTrigger", ns) is not None
    assert root.find("t:Settings/t:RestartOnFailure/t:Count", ns).text == "999"
    assert root.find("t:Settings/t:ExecutionTimeLimit", ns).text == "PT0S"
    assert root.find("t:Actions/t:Exec/t:Command", ns).text == str(paths.state_dir / "gateway.cmd")
    assert windows_task.parse_task(data)["uri"] == "\\OpenClaw Gateway (rescue)"
    launcher = windows_task.render_launcher(spec)
    assert TOKEN not in launcher and TOKEN.encode("utf-16-le") not in data
    definition = windows_task.parse_launcher(launcher)
    assert definition.argv == spec.argv
    assert definition.env == spec.env
    assert definition.log_file == str(spec.layout.service_log)


def test_port_resolution_is_the_gateways(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = {"gateway": {"port": 3000}}
    assert resolve_service_port(cfg, None, 4000, {"OPENCLAW_GATEWAY_PORT": "5000"}) == (4000, "cli --port")
    assert resolve_service_port(cfg, None, None, {"OPENCLAW_GATEWAY_PORT": "127.0.0.1:5000"}) == (5000, "env OPENCLAW_GATEWAY_PORT")
    assert resolve_service_port(cfg, None, None, {}) == (3000, "config gateway.port")
    assert resolve_service_port({}, "rescue", None, {}) == (profile_default_port("rescue"), "default")
    with pytest.raises(ConfigRefusal):
        resolve_service_port({"gateway": {"port": 0}}, None, None, {})  # a service needs a fixed port
    with pytest.raises(ConfigRefusal):
        resolve_service_port({"gateway": {"port": "x"}}, None, None, {})


def test_drift_between_the_unit_and_the_config_is_reported_with_its_fix(tmp_path: Path) -> None:
    paths, spec = _spec(tmp_path)
    paths.state_dir.mkdir(parents=True)
    paths.config_path.write_text('{"gateway": {"mode": "local", "port": 24680}}')
    env_file = spec.layout.env_file
    assert env_file is not None
    env_file.write_text("")
    os.chmod(env_file, 0o600)
    spec.layout.definition_path.parent.mkdir(parents=True)
    spec.layout.definition_path.write_text(systemd_unit.render(spec))
    view = inspect_service(paths, "linux", query=False)
    assert view.installed and view.issues == []
    assert view.definition is not None and view.definition["port"] == 24680
    assert view.state == "stopped" and view.state_source == "process"

    paths.config_path.write_text('{"gateway": {"mode": "local", "port": 24681}}')
    os.chmod(env_file, 0o644)
    spec.env["OPENCLAW_GATEWAY_TOKEN"] = TOKEN  # as a hand-edited unit might
    spec.env["OPENCLAW_SERVICE_VERSION"] = "0.0.1"
    spec.layout.definition_path.write_text(systemd_unit.render(spec))
    definition = systemd_unit.parse(spec.layout.definition_path.read_text())
    issues = "\n".join(drift_issues(definition, paths, spec.layout))
    assert "port: the service runs --port 24680 but config gateway.port is 24681" in issues
    assert "openclaw gateway install --force" in issues
    assert "secret: OPENCLAW_GATEWAY_TOKEN is written in" in issues
    assert f"chmod 600 {env_file}" in issues
    assert "version: the service was installed by openclaw 0.0.1" in issues
    assert TOKEN not in str(inspect_service(paths, "linux", query=False).to_json())  # redacted in the view


def test_other_services_lists_other_profiles_and_system_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SYSTEM_DIR_ENV, str(tmp_path / "etc"))
    main, main_spec = _spec(tmp_path)
    _, rescue_spec = _spec(tmp_path, profile="rescue")
    _, system_spec = _spec(tmp_path, system=True)
    for spec in (main_spec, rescue_spec, system_spec):
        spec.layout.definition_path.parent.mkdir(parents=True, exist_ok=True)
        spec.layout.definition_path.write_text(systemd_unit.render(spec))
    (main_spec.layout.definition_path.parent / "unrelated.service").write_text("[Service]\nExecStart=/bin/true\n")
    assert inspect_profile_service(main, "linux", query=False).manager == "systemd-user"
    others = other_services(main, "linux", query=False)
    found = sorted((v.manager, v.label, v.profile) for v in others)
    assert found == [("systemd-system", "openclaw-gateway.service", None),
                     ("systemd-user", "openclaw-gateway-rescue.service", "rescue")]
    assert all(v.definition and v.definition["marker"] == "openclaw" for v in others)
    main_spec.layout.definition_path.unlink()  # only the system unit left: that is the profile's service
    assert inspect_profile_service(main, "linux", query=False).manager == "systemd-system"


def test_restart_flags_map_onto_restart_requests_or_are_refused() -> None:
    assert _restart_flags(False, False, False, None) is None
    assert _restart_flags(True, False, False, None)["restartIntent"] == {"force": True}
    assert _restart_flags(False, True, True, None)["skipDeferral"] is True
    assert _restart_flags(False, False, False, "10s")["restartIntent"] == {"waitMs": 10_000}
    for args in ((False, False, True, None), (True, False, False, "1s"), (True, True, False, None)):
        with pytest.raises(UsageProblem):
            _restart_flags(*args)
    assert [parse_duration_ms(t) for t in ("0", "250", "250ms", "5m")] == [0, 250, 250, 300_000]
    with pytest.raises(UsageProblem):
        parse_duration_ms("soon")
