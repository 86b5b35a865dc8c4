"""Event-loop lag, sampled once a second on the loop itself (reported in health/status)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

INTERVAL_S = 1.0
DEGRADED_MS = 1000.0


class LoopMonitor:
    def __init__(self) -> None:
        self.samples: deque[float] = deque(maxlen=60)
        self._task: asyncio.Task[None] | None = None
        self._cpu_start = time.process_time()
        self._wall_start = time.monotonic()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-monitor")

    async def _run(self) -> None:
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(INTERVAL_S)
            self.samples.append(max(0.0, (time.monotonic() - t0 - INTERVAL_S) * 1000))

    def snapshot(self) -> dict[str, Any]:
        s = sorted(self.samples)
        p99 = s[min(len(s) - 1, int(len(s) * 0.99))] if s else 0.0
        mx = s[-1] if s else 0.0
        wall = max(1e-6, time.monotonic() - self._wall_start)
        return {
            "degraded": mx > DEGRADED_MS,
            "intervalMs": INTERVAL_S * 1000,
            "delayP99Ms": round(p99, 1),
            "delayMaxMs": round(mx, 1),
            "cpuCoreRatio": round((time.process_time() - self._cpu_start) / wall, 3),
        }
