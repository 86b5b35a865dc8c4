"""What every lifecycle verb starts from: the profile's paths, the platform, which definition
(user or system unit) it acts on, the manager, and the bounded wait for a manager state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from openclaw.ipc.paths import Paths

from .layout import Layout, layout_for
from .managers import ManagerState, ServiceManager, manager_for
from .names import PLATFORMS, host_platform
from .outcome import UsageProblem

STATE_WAIT_S = 30.0  # how long a verb waits for the manager (or the process) to reach the state asked for


@dataclass
class ServiceContext:
    paths: Paths
    platform: str
    layout: Layout
    manager: ServiceManager

    @property
    def cli(self) -> str:
        """How the operator runs openclaw for this profile (for hints)."""
        return f"openclaw --profile {self.paths.profile}" if self.paths.profile else "openclaw"


def service_context(paths: Paths, platform: str | None, system: bool, *, for_install: bool = False) -> ServiceContext:
    """The definition a verb acts on: `--system` → the system unit; otherwise the user unit, or the
    system unit when only that one is installed (not for install, which writes what it is told)."""
    platform = platform or host_platform()
    if platform not in PLATFORMS:
        raise UsageProblem(f"--platform {platform}: use one of {', '.join(PLATFORMS)}")
    if system and platform != "linux":
        raise UsageProblem("--system is for systemd (linux) only: launchd and Windows services run as your user")
    layout = layout_for(paths, platform, system)
    if not system and not for_install and platform == "linux" and not layout.definition_path.exists():
        system_layout = layout_for(paths, platform, True)
        if system_layout.definition_path.exists():
            layout = system_layout
    return ServiceContext(paths, platform, layout, manager_for(layout))


def wait_state(manager: ServiceManager, want: set[str], timeout: float = STATE_WAIT_S,
               give_up: frozenset[str] = frozenset({"failed"})) -> ManagerState:
    """Poll the manager until the service is in one of `want` (or in a `give_up` state), bounded."""
    deadline = time.monotonic() + timeout
    while True:
        state = manager.query()
        if state.state in want or state.state in give_up or time.monotonic() > deadline:
            return state
        time.sleep(0.2)
