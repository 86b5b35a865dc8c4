"""Where `gateway install` writes for a profile: the definition, the secrets file, the launcher, the log.

| platform | definition | beside it |
| --- | --- | --- |
| linux (user) | `<home>/.config/systemd/user/openclaw-gateway[-<profile>].service` | `<state>/gateway.env` (0600) |
| linux (`--system`) | `/etc/systemd/system/<unit>` (`$OPENCLAW_SYSTEMD_SYSTEM_DIR` in tests) | `<state>/gateway.env` (0600) |
| darwin | `<home>/Library/LaunchAgents/<label>.plist` | |
| win32 | `<state>/gateway-task.xml` (the Scheduled Task definition) | `<state>/gateway.cmd` (the launcher) |

home = OPENCLAW_HOME or HOME (ipc/paths.py), so an isolated home keeps every file in it. A gateway
started without a service manager writes its output to `<state>/logs/gateway-service.log`, and
`<state>/gateway-service.json` records which process `gateway start` started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from openclaw.ipc.paths import Paths

from .names import label_for

SYSTEM_DIR_ENV = "OPENCLAW_SYSTEMD_SYSTEM_DIR"  # tests only: where --system units go instead of /etc
DEFAULT_SYSTEM_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class Layout:
    platform: str
    manager: str  # systemd-user | systemd-system | launchd | schtasks
    label: str
    definition_path: Path
    env_file: Path | None  # systemd: the EnvironmentFile holding secrets
    launcher_path: Path | None  # win32: gateway.cmd, what the task runs
    service_log: Path  # stdout/stderr of a gateway the service runs (launchd, schtasks, no-manager path)
    started_record: Path  # the no-manager path: which gateway `gateway start` started (pid, command)

    @property
    def system(self) -> bool:
        return self.manager == "systemd-system"

    def written_files(self) -> list[Path]:
        """Every file install writes, definition first."""
        return [p for p in (self.definition_path, self.env_file, self.launcher_path) if p is not None]


def system_unit_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env[SYSTEM_DIR_ENV]) if env.get(SYSTEM_DIR_ENV) else DEFAULT_SYSTEM_DIR


def user_unit_dir(paths: Paths) -> Path:
    return paths.home / ".config" / "systemd" / "user"


def launch_agents_dir(paths: Paths) -> Path:
    return paths.home / "Library" / "LaunchAgents"


def layout_for(paths: Paths, platform: str, system: bool = False, env: dict[str, str] | None = None) -> Layout:
    label = label_for(platform, paths.profile)
    log = paths.state_dir / "logs" / "gateway-service.log"
    started = paths.state_dir / "gateway-service.json"
    if platform == "darwin":
        return Layout(platform, "launchd", label, launch_agents_dir(paths) / f"{label}.plist", None, None, log, started)
    if platform == "win32":
        return Layout(platform, "schtasks", label, paths.state_dir / "gateway-task.xml", None,
                      paths.state_dir / "gateway.cmd", log, started)
    unit_dir = system_unit_dir(env) if system else user_unit_dir(paths)
    return Layout(platform, "systemd-system" if system else "systemd-user", label, unit_dir / label,
                  paths.state_dir / "gateway.env", None, log, started)
