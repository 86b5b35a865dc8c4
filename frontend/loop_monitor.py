"""Event-loop health, sampled once a second on the loop itself, in upstream's `eventLoop` shape
(health, status, /readyz, channels.status):

- `reasons`: "event_loop_delay" (delay p99 or max >= 1 s), "event_loop_utilization" (>= 0.95) and
  "cpu" (process >= 0.9 of a core); the last two only count when a sample also saw >= 25 ms of delay;
- `degradedSinceMs`: for how long it has been degraded (a duration), or null.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from typing import Any

import psutil

INTERVAL_S = 1.0
WINDOW = 30  # samples
DEGRADED_DELAY_MS = 1000.0
DEGRADED_UTILIZATION = 0.95
DEGRADED_CPU = 0.9
NOTICEABLE_DELAY_MS = 25.0


class LoopMonitor:
    def __init__(self) -> None:
        self.delays: deque[float] = deque(maxlen=WINDOW)
        self.interval_ms = INTERVAL_S * 1000
        self.utilization = 0.0
        self.process_ratio = 0.0
        self.thread_ratio = 0.0
        self.host_utilization = 0.0
        self.degraded_since: float | None = None  # monotonic
        self._handle: asyncio.TimerHandle | None = None
        self._last = (time.monotonic(), time.process_time(), time.thread_time())
        self._proc = psutil.Process()
        psutil.cpu_percent(None)  # start the host counter

    def start(self) -> None:
        self._expected = time.monotonic() + INTERVAL_S
        self._handle = asyncio.get_running_loop().call_at(asyncio.get_running_loop().time() + INTERVAL_S, self._sample)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _sample(self) -> None:
        now, cpu, thread = time.monotonic(), time.process_time(), time.thread_time()
        wall = max(1e-6, now - self._last[0])
        self.delays.append(max(0.0, (now - self._expected) * 1000))
        self.interval_ms = wall * 1000
        self.process_ratio = (cpu - self._last[1]) / wall
        self.thread_ratio = (thread - self._last[2]) / wall
        self.utilization = min(1.0, self.thread_ratio)
        self.host_utilization = psutil.cpu_percent(None) / 100
        self._last = (now, cpu, thread)
        degraded = bool(self.reasons())
        if degraded and self.degraded_since is None:
            self.degraded_since = now
        elif not degraded:
            self.degraded_since = None
        self._expected = now + INTERVAL_S
        loop = asyncio.get_running_loop()
        self._handle = loop.call_at(loop.time() + INTERVAL_S, self._sample)

    def reasons(self) -> list[str]:
        out = []
        worst = max(self.delays) if self.delays else 0.0
        if worst >= DEGRADED_DELAY_MS:
            out.append("event_loop_delay")
        if worst >= NOTICEABLE_DELAY_MS and self.interval_ms >= INTERVAL_S * 1000:
            if self.utilization >= DEGRADED_UTILIZATION:
                out.append("event_loop_utilization")
            if self.process_ratio >= DEGRADED_CPU:
                out.append("cpu")
        return out

    def snapshot(self) -> dict[str, Any]:
        s = sorted(self.delays)
        p99 = s[min(len(s) - 1, int(len(s) * 0.99))] if s else 0.0
        reasons = self.reasons()
        return {
            "degraded": bool(reasons),
            "degradedSinceMs": (
                int((time.monotonic() - self.degraded_since) * 1000) if reasons and self.degraded_since is not None else None
            ),
            "reasons": reasons,
            "intervalMs": int(round(self.interval_ms)),
            "delayP99Ms": round(p99, 1),
            "delayMaxMs": round(s[-1] if s else 0.0, 1),
            "utilization": round(self.utilization, 3),
            "cpuCoreRatio": round(self.process_ratio, 3),
            "cpuBreakdown": {
                "mainThreadCoreRatio": round(self.thread_ratio, 3),
                "hostUtilization": round(self.host_utilization, 3),
                "hostCpuCount": os.cpu_count() or 1,
                "workerCoreRatio": 0,
                "otherThreadsCoreRatio": round(max(0.0, self.process_ratio - self.thread_ratio), 3),
            },
        }
