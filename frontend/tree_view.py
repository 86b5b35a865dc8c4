"""The process tree as the supervisor last reported it (TreeState): readiness, FATAL children,
the config-reload status. Read by /readyz, `health` and `status`."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from openclaw.ipc import control

RUNNING = frozenset({"running", "replacing"})
STABILITY_CAPACITY = 1000


class TreeView:
    def __init__(self) -> None:
        self.state: control.TreeState | None = None
        self.on_change: list[Callable[[], None]] = []
        self.started = False  # every child was running at least once (/startupz)
        self.stability: deque[dict[str, Any]] = deque(maxlen=STABILITY_CAPACITY)  # diagnostics.stability
        self.stability_seq = 0

    def update(self, state: control.TreeState) -> None:
        before = {p.name: p.state for p in self.children}
        self.state = state
        for p in self.children:
            if before.get(p.name) != p.state:
                self.stability_seq += 1
                self.stability.append({
                    "seq": self.stability_seq, "ts": int(time.time() * 1000), "type": "process.state",
                    "source": p.name, "state": p.state, "pid": p.pid, "reason": p.reason,
                })
        if not self.started and self.children and not self.required_not_ready():
            self.started = True
        for callback in self.on_change:
            callback()

    @property
    def children(self) -> list[control.ProcessInfo]:
        return [p for p in self.state.processes if p.role != "supervisor"] if self.state else []

    def not_ready(self) -> list[control.ProcessInfo]:
        """Children that are not serving (starting, backing off, FATAL, stopping), optional ones included."""
        return [p for p in self.children if p.state not in RUNNING]

    def required_not_ready(self) -> list[control.ProcessInfo]:
        """What holds readiness back: the not-serving children that are not optional."""
        return [p for p in self.not_ready() if not p.optional]

    def degraded_children(self) -> list[control.ProcessInfo]:
        """Optional subsystems (canvas host, advertiser) that are down: named in `health`, /readyz stays 200."""
        return [p for p in self.not_ready() if p.optional]

    def failing(self) -> list[str]:
        """One line per required child that is not ready, for /readyz."""
        return self._lines(self.required_not_ready())

    def degraded(self) -> list[str]:
        """One line per optional child that is down, for /readyz `degraded`."""
        return self._lines(self.degraded_children())

    @staticmethod
    def _lines(procs: list[control.ProcessInfo]) -> list[str]:
        out = []
        for p in procs:
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
