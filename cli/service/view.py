"""What the service manager thinks of this profile's gateway: one `ServiceView`, read-only.

The interface other commands (`gateway status`, `gateway probe`, `doctor`) read. Names:
systemd unit `openclaw-gateway[-<profile>].service`, launchd label `ai.openclaw.gateway` /
`ai.openclaw.<profile>`, Windows task `OpenClaw Gateway` / `OpenClaw Gateway (<profile>)`.

`inspect_service` reads the installed definition back (command, port, version, environment), asks
the service manager (when one answers here) whether it is loaded and running, falls back to the
profile's instance record when no manager runs (the no-manager path), and lists the drift between
the definition and the config / this CLI (`issues`, each with its fix). `other_services` finds the
other gateway definitions on this host (other profiles, system units) for `status --deep`/`doctor`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.ipc.config_file import load_config
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.instance_registry import running_instance
from openclaw.ipc.paths import Paths
from openclaw.ipc.version import GATEWAY_VERSION

from .definition import Definition, parse_env_file
from .layout import (
    Layout,
    launch_agents_dir,
    layout_for,
    system_unit_dir,
    user_unit_dir,
)
from .managers import ServiceManager, manager_for
from .names import (  # noqa: F401  (re-exported: the public name helpers)
    PLATFORMS,
    SERVICE_MARKER,
    host_platform,
    launchd_label,
    systemd_unit_name,
    windows_task_name,
)


@dataclass
class ServiceView:
    platform: str  # linux | darwin | win32
    manager: str  # systemd-user | systemd-system | launchd | schtasks
    label: str  # unit name, launchd label or task name
    definition_path: Path | None  # where install wrote (or would write) the definition
    installed: bool = False  # the definition file exists
    manager_available: bool = False  # the service manager answers (systemctl --user works, ...)
    loaded: bool | None = None  # the manager knows the service; None = cannot tell
    state: str | None = None  # "running" | "stopped" | "failed" | "activating" | "stopping" | None = cannot tell
    main_pid: int | None = None
    definition: dict[str, Any] | None = None  # parsed from the file: port, program, version, profile, envFile
    issues: list[str] = field(default_factory=list)  # drift between definition and config/CLI
    # added by the service backends
    profile: str | None = None  # the profile this definition belongs to (from its name)
    manager_detail: str | None = None  # why the manager is not available ("System has not been booted with systemd ...")
    state_source: str | None = None  # who told us `state`: systemd | launchd | schtasks | process (the instance record)
    via: str = "process"  # the path lifecycle verbs take now: systemd | launchd | schtasks | process
    files: list[Path] = field(default_factory=list)  # what install wrote that exists (definition, env file, launcher)
    env_file: Path | None = None  # systemd: the EnvironmentFile with the secrets (0600)
    service_log: Path | None = None  # output of a gateway started by the service / the no-manager path
    process: dict[str, Any] | None = None  # this profile's running gateway: pid, port, serviceStarted
    manager_state: dict[str, Any] | None = None  # the manager's own words (ActiveState, SubState, ...)
    hints: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "manager": self.manager, "label": self.label,
            "definitionPath": str(self.definition_path) if self.definition_path else None,
            "installed": self.installed, "managerAvailable": self.manager_available, "loaded": self.loaded,
            "state": self.state, "mainPid": self.main_pid, "definition": self.definition, "issues": list(self.issues),
            "profile": self.profile, "managerDetail": self.manager_detail, "stateSource": self.state_source,
            "via": self.via, "files": [str(p) for p in self.files],
            "envFile": str(self.env_file) if self.env_file else None,
            "serviceLog": str(self.service_log) if self.service_log else None,
            "process": self.process, "managerState": self.manager_state, "hints": list(self.hints),
        }


def read_definition(layout: Layout) -> Definition | None:
    """The installed definition, parsed (None when not installed). Raises ValueError when unreadable."""
    path = layout.definition_path
    if not path.exists():
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if layout.manager == "launchd":
            from .launchd_plist import parse as parse_plist

            return parse_plist(data)
        if layout.manager == "schtasks":
            from .windows_task import parse_launcher, parse_task

            task = parse_task(data)
            launcher = layout.launcher_path
            definition = parse_launcher(launcher.read_text(errors="replace")) if launcher and launcher.exists() else Definition([])
            definition.working_dir = task.get("workingDirectory")
            definition.extra = {"task": task}
            return definition
        from .systemd_unit import parse as parse_unit

        return parse_unit(data.decode("utf-8", errors="replace"))
    except (ValueError, TypeError, SyntaxError, OSError) as exc:  # plistlib/ElementTree raise ValueError/SyntaxError
        raise ValueError(f"cannot parse {path}: {exc}") from None


def definition_env(definition: Definition) -> dict[str, str]:
    """The environment the definition gives the gateway: its own variables plus its EnvironmentFile."""
    env = dict(definition.env)
    if definition.env_file:
        try:
            env.update(parse_env_file(Path(definition.env_file).read_text(errors="replace")))
        except OSError:
            pass
    return env


def drift_issues(definition: Definition, paths: Paths, layout: Layout) -> list[str]:
    """Where the installed definition no longer matches the config, this CLI or the rules."""
    from .spec import openclaw_program, resolve_service_port

    issues: list[str] = []
    fix = "run `openclaw gateway install --force`" + (" --system" if layout.system else "")
    if definition.marker != SERVICE_MARKER:
        issues.append(f"{layout.definition_path} was not written by `openclaw gateway install` (no OPENCLAW_SERVICE_MARKER)")
    try:
        config = load_config(paths.config_path).data
        expected, source = resolve_service_port(config, paths.profile, None, env={})
        if definition.port is not None and definition.port != expected:
            issues.append(f"port: the service runs --port {definition.port} but {source} is {expected}; {fix}")
    except ConfigRefusal:
        pass
    program = definition.program_argv
    current = openclaw_program()
    if not program:
        issues.append(f"command: no program found in {layout.definition_path}; {fix}")
    else:
        exe = program[-1] if program[-2:-1] != ["-m"] else program[0]
        if not os.access(exe, os.X_OK):
            issues.append(f"command: {exe} is not an executable file any more; {fix}")
        elif program[-len(current):] != current:
            issues.append(f"command: the service runs {' '.join(program)}, this CLI is {' '.join(current)}; {fix}")
    if definition.version and definition.version != GATEWAY_VERSION:
        issues.append(f"version: the service was installed by openclaw {definition.version}, this CLI is {GATEWAY_VERSION}; {fix}")
    if (definition.profile or None) != paths.profile:
        issues.append(f"profile: the service runs profile {definition.profile or 'default'}, expected {paths.profile or 'default'}; {fix}")
    for key, want in (("OPENCLAW_STATE_DIR", paths.state_dir), ("OPENCLAW_CONFIG_PATH", paths.config_path)):
        if key in definition.env and Path(definition.env[key]) != want:
            issues.append(f"paths: the service sets {key}={definition.env[key]}, this profile uses {want}; {fix}")
    for key in definition.inline_secrets:
        issues.append(f"secret: {key} is written in {layout.definition_path}, readable by anyone who can read it; {fix}")
    if definition.env_file:
        env_path = Path(definition.env_file)
        try:
            mode = stat.S_IMODE(env_path.stat().st_mode)
            if mode & 0o077:
                issues.append(f"permissions: {env_path} is mode {mode:04o}; it holds secrets: chmod 600 {env_path}")
        except FileNotFoundError:
            issues.append(f"env file: {env_path} (EnvironmentFile) is missing; {fix}")
        except OSError:
            pass
    return issues


def _process_view(paths: Paths, layout: Layout) -> dict[str, Any] | None:
    from .process_path import started_pid

    rec = running_instance(paths)
    if rec is None:
        return None
    return {"pid": rec.pid, "port": rec.port, "startedAtMs": rec.started_at_ms,
            "serviceStarted": started_pid(layout.started_record) == rec.pid}


def _fill_manager(view: ServiceView, manager: ServiceManager) -> None:
    available, detail = manager.available()
    view.manager_available = available
    view.manager_detail = detail or None
    view.via = manager.name if available else "process"
    if available:
        q = manager.query()
        view.loaded, view.state, view.main_pid, view.manager_state = q.loaded, q.state, q.pid, q.detail
        view.state_source = manager.name


def inspect_service(paths: Paths, platform: str | None = None, system: bool = False, *, query: bool = True) -> ServiceView:
    """The service of this profile. `query=False` reads only files (no service manager call)."""
    platform = platform or host_platform()
    layout = layout_for(paths, platform, system)
    view = ServiceView(platform, layout.manager, layout.label, layout.definition_path, profile=paths.profile,
                       env_file=layout.env_file, service_log=layout.service_log)
    view.installed = layout.definition_path.exists()
    view.files = [p for p in layout.written_files() if p.exists()]
    try:
        definition = read_definition(layout)
    except ValueError as exc:
        definition = None
        view.issues.append(str(exc))
    if definition is not None:
        view.definition = definition.to_json()
        view.issues.extend(drift_issues(definition, paths, layout))
    if query:
        _fill_manager(view, manager_for(layout))
    view.process = _process_view(paths, layout)
    if view.state_source is None:  # no manager answers: the instance record is all we know
        view.state = "running" if view.process else "stopped"
        view.main_pid = view.process["pid"] if view.process else None
        view.state_source = "process"
    if not view.manager_available and query and view.installed:
        view.hints.append(f"The service manager is not available ({view.manager_detail}); `openclaw gateway start|stop|restart` "
                          "run this profile's gateway as a detached process instead.")
    return view


def inspect_profile_service(paths: Paths, platform: str | None = None, *, query: bool = True) -> ServiceView:
    """The service this profile's lifecycle verbs act on: the user unit, or the system unit when only
    that one is installed (linux); what `gateway status` should show by default."""
    view = inspect_service(paths, platform, False, query=query)
    if view.installed or view.platform != "linux":
        return view
    system_view = inspect_service(paths, platform, True, query=query)
    return system_view if system_view.installed else view


UNIT_PROFILE = re.compile(r"^openclaw-gateway(?:-(?P<profile>.+))?\.service$")
PLIST_PROFILE = re.compile(r"^ai\.openclaw\.(?P<profile>.+)\.plist$")


def _candidate_units(folder: Path) -> list[Path]:
    out = []
    try:
        entries = sorted(folder.glob("*.service"))
    except OSError:
        return out
    for path in entries:
        if UNIT_PROFILE.match(path.name):
            out.append(path)
            continue
        try:
            if path.stat().st_size <= 65536 and b"OPENCLAW_SERVICE_MARKER=openclaw" in path.read_bytes():
                out.append(path)
        except OSError:
            continue
    return out


def _view_of_file(path: Path, layout: Layout, profile: str | None, query: bool) -> ServiceView:
    view = ServiceView(layout.platform, layout.manager, layout.label, path, installed=True, profile=profile)
    view.files = [path]
    try:
        definition = read_definition(layout)
    except ValueError as exc:
        view.issues.append(str(exc))
        definition = None
    if definition is not None:
        view.definition = definition.to_json()
        if definition.env_file:
            view.env_file = Path(definition.env_file)
    if query:
        _fill_manager(view, manager_for(layout))
    return view


def other_services(paths: Paths, platform: str | None = None, *, query: bool = True) -> list[ServiceView]:
    """Other gateway-like service definitions on this host: other profiles' user units, every system
    unit (this profile's included: a system and a user service for one profile fight over its port),
    other LaunchAgents/LaunchDaemons, other state dirs' Windows tasks."""
    platform = platform or host_platform()
    ours = layout_for(paths, platform, False).definition_path
    found: list[tuple[Path, Layout, str | None]] = []
    if platform == "linux":
        for folder, manager in ((user_unit_dir(paths), "systemd-user"), (system_unit_dir(), "systemd-system")):
            for path in _candidate_units(folder):
                if path == ours:
                    continue
                m = UNIT_PROFILE.match(path.name)
                profile = m.group("profile") if m else None
                found.append((path, Layout(platform, manager, path.name, path, None, None, path.with_suffix(".log"),
                                            path.with_suffix(".json")), profile))
    elif platform == "darwin":
        for folder, manager in ((launch_agents_dir(paths), "launchd"), (Path("/Library/LaunchDaemons"), "launchd")):
            try:
                entries = sorted(folder.glob("ai.openclaw.*.plist"))
            except OSError:
                entries = []
            for path in entries:
                if path == ours:
                    continue
                m = PLIST_PROFILE.match(path.name)
                label = path.name[: -len(".plist")]
                profile = None if not m or m.group("profile") == "gateway" else m.group("profile")
                found.append((path, Layout(platform, manager, label, path, None, None, path.with_suffix(".log"),
                                            path.with_suffix(".json")), profile))
    else:
        try:
            dirs = sorted(paths.home.glob(".openclaw*"))
        except OSError:
            dirs = []
        for state in dirs:
            path = state / "gateway-task.xml"
            if path == ours or not path.exists():
                continue
            profile = state.name[len(".openclaw-"):] if state.name.startswith(".openclaw-") else None
            label = windows_task_name(profile)
            found.append((path, Layout(platform, "schtasks", label, path, None, state / "gateway.cmd",
                                       state / "logs" / "gateway-service.log", state / "gateway-service.json"), profile))
    return [_view_of_file(path, layout, profile, query) for path, layout, profile in found]
