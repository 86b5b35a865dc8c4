"""`health`: a cached snapshot composed from the front-end and the workers' fragments.

Answering `health` is a byte copy; the snapshot is rebuilt when a worker's state
or fragment changes and every 60 s, and each rebuild is pushed as a `health` event.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from ..context import Frontend
    from ..ws.session import Session

REFRESH_S = 60.0
DEBOUNCE_S = 0.05


class HealthCache:
    def __init__(self, fe: Frontend) -> None:
        self.fe = fe
        self.version = 0
        self.payload = b"{}"
        self.ok = False
        self._scheduled: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.rebuild(broadcast=False)
        self._task = asyncio.get_running_loop().create_task(self._refresh(), name="health-refresh")

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            self.rebuild()

    def changed(self) -> None:
        """Rebuild now (answers must never be stale); push the event once per burst of changes."""
        self.rebuild(broadcast=False)
        if self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_later(DEBOUNCE_S, self._push)

    def _push(self) -> None:
        self._scheduled = None
        self.fe.hub.broadcast("health", self.payload, self.fe.state_version())

    def rebuild(self, broadcast: bool = True) -> None:
        t0 = time.perf_counter()
        fe = self.fe
        not_ready = fe.router.not_ready()
        snapshot: dict[str, Any] = {
            "ok": not not_ready,
            "ts": int(time.time() * 1000),
            "durationMs": 0,
            "plugins": {"loaded": [], "errors": [], "unavailable": []},
            "configReload": {"hotReloadStatus": "active" if fe.gateway.reload_mode != "off" else "off"},
            "channels": {},
            "channelOrder": [],
            "channelLabels": {},
            "heartbeatSeconds": 0,
            "defaultAgentId": "main",
            "agents": [],
            "sessions": {"path": None, "count": 0, "recent": []},
            "modelRuntime": {"degraded": False, "pendingAgents": []},
        }
        for worker in fe.router.workers.values():
            if worker.registered:
                try:
                    snapshot.update(msgspec.json.decode(worker.fragment))
                except msgspec.DecodeError:
                    pass
        snapshot["workers"] = {
            name: {"ready": name not in not_ready, "pid": w.pid or None} for name, w in fe.router.workers.items()
        }
        if not_ready:
            snapshot["degradedReasons"] = [f"worker {name} not ready" for name in not_ready]
        snapshot["eventLoop"] = fe.loop_monitor.snapshot()
        snapshot["durationMs"] = int((time.perf_counter() - t0) * 1000)
        self.ok = snapshot["ok"]
        self.payload = msgspec.json.encode(snapshot)
        self.version += 1
        if broadcast:
            fe.hub.broadcast("health", self.payload, fe.state_version())


def health(fe: Frontend, session: Session, raw: bytes) -> bytes:
    return fe.health.payload
