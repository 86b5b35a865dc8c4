"""The process tree as the supervisor last reported it (TreeState): readiness, FATAL children,
the config-reload status. Read by /readyz, `health` and `status`."""

from __future__ import annotations

from collections.abc import Callable

from openclaw.ipc import control

RUNNING = frozenset({"running", "replacing"})


class TreeView:
    def __init__(self) -> None:
        self.state: control.TreeState | None = None
        self.on_change: list[Callable[[], None]] = []

    def update(self, state: control.TreeState) -> None:
        self.state = state
        for callback in self.on_change:
            callback()

    @property
    def children(self) -> list[control.ProcessInfo]:
        return [p for p in self.state.processes if p.role != "supervisor"] if self.state else []

    def not_ready(self) -> list[control.ProcessInfo]:
        """Children that are not serving (starting, backing off, FATAL, stopping)."""
        return [p for p in self.children if p.state not in RUNNING]

    def failing(self) -> list[str]:
        """One line per child that is not ready, for /readyz."""
        out = []
        for p in self.not_ready():
            line = f"{p.role}:{p.name} {p.state}"
            if p.reason:
                line += f": {p.reason}"
            out.append(line)
        return out

    def channels(self) -> list[control.ProcessInfo]:
        return [p for p in self.children if p.kind == "channel"]

    @property
    def reload(self) -> control.ReloadStatus | None:
        return self.state.reload if self.state else None

    @property
    def generation(self) -> int:
        return self.state.generation if self.state else 0
