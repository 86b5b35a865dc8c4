"""What the service manager thinks of this profile's gateway: one `ServiceView`, read-only.

The interface other commands (`gateway status`, `gateway probe`, `doctor`) read. Names:
systemd unit `openclaw-gateway[-<profile>].service`, launchd label `ai.openclaw.gateway` /
`ai.openclaw.<profile>`, Windows task `OpenClaw Gateway` / `OpenClaw Gateway (<profile>)`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.ipc.paths import Paths

PLATFORMS = ("linux", "darwin", "win32")


def host_platform() -> str:
    return "darwin" if sys.platform == "darwin" else "win32" if sys.platform.startswith("win") else "linux"


def systemd_unit_name(profile: str | None) -> str:
    return f"openclaw-gateway-{profile}.service" if profile else "openclaw-gateway.service"


def launchd_label(profile: str | None) -> str:
    return f"ai.openclaw.{profile}" if profile else "ai.openclaw.gateway"


def windows_task_name(profile: str | None) -> str:
    return f"OpenClaw Gateway ({profile})" if profile else "OpenClaw Gateway"


@dataclass
class ServiceView:
    platform: str  # linux | darwin | win32
    manager: str  # systemd-user | systemd-system | launchd | schtasks
    label: str  # unit name, launchd label or task name
    definition_path: Path | None  # where install wrote (or would write) the definition
    installed: bool = False  # the definition file exists
    manager_available: bool = False  # the service manager answers (systemctl --user works, ...)
    loaded: bool | None = None  # the manager knows the service; None = cannot tell
    state: str | None = None  # "running" | "stopped" | "failed" | "activating" | None = cannot tell
    main_pid: int | None = None
    definition: dict[str, Any] | None = None  # parsed from the file: port, program, version, profile, envFile
    issues: list[str] = field(default_factory=list)  # drift between definition and config/CLI

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "manager": self.manager, "label": self.label,
            "definitionPath": str(self.definition_path) if self.definition_path else None,
            "installed": self.installed, "managerAvailable": self.manager_available, "loaded": self.loaded,
            "state": self.state, "mainPid": self.main_pid, "definition": self.definition, "issues": list(self.issues),
        }


def inspect_service(paths: Paths, platform: str | None = None, system: bool = False) -> ServiceView:
    """The service of this profile (placeholder until the service backends land: file presence only)."""
    platform = platform or host_platform()
    profile = paths.profile
    if platform == "darwin":
        label = launchd_label(profile)
        path = paths.home / "Library" / "LaunchAgents" / f"{label}.plist"
        view = ServiceView(platform, "launchd", label, path)
    elif platform == "win32":
        label = windows_task_name(profile)
        view = ServiceView(platform, "schtasks", label, paths.state_dir / "gateway-task.xml")
    else:
        label = systemd_unit_name(profile)
        base = Path("/etc/systemd/system") if system else paths.home / ".config" / "systemd" / "user"
        view = ServiceView(platform, "systemd-system" if system else "systemd-user", label, base / label)
    view.installed = bool(view.definition_path and view.definition_path.exists())
    return view


def other_services(paths: Paths, platform: str | None = None) -> list[ServiceView]:
    """Other gateway-like service definitions on this host (other profiles, system units)."""
    return []
