"""One OS process of a child: its pid, when it started, said Ready and last heartbeated,
and signalling that never reaches a PID the kernel may have reused."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass


@dataclass
class ChildProcess:
    instance: str  # "agent.3"
    pid: int
    started_at: float  # monotonic
    ready_at: float | None = None
    last_heartbeat: float | None = None
    configured: bool = False
    draining: bool = False  # told to drain/stop
    hung: bool = False  # declared hung; being killed
    exited: bool = False  # reaped: never signal it again
    exit_code: int | None = None
    boot_error: str | None = None  # what the child said before failing to boot

    def signal(self, sig: int) -> bool:
        if self.exited:
            return False
        try:
            os.kill(self.pid, sig)
            return True
        except ProcessLookupError:
            return False

    def uptime(self, now: float) -> float:
        return now - self.started_at

    def silent_for(self, now: float) -> float:
        return now - (self.last_heartbeat if self.last_heartbeat is not None else self.started_at)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"
