"""The gateway health snapshot: composed from the process tree, the workers' fragments, the
config-reload status and the event loop; cached, so answering `health` is a byte copy.

Two encodings: `payload` answers the `health` method (upstream's fields plus this gateway's:
every child with its state, what the config watcher knows); `snapshot_payload` goes into
hello-ok and `health` events and keeps to upstream's closed HealthSnapshot schema.

Rebuilt when something it shows changes (pushed as a `health` event, debounced), refreshed
quietly every few seconds for the event-loop figures, and pushed at least once a minute.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import msgspec

from openclaw.ipc import control
from openclaw.ipc.errors import DECODE_ERRORS

from .loop_monitor import LoopMonitor
from .router import WorkerRouter
from .settings import Settings
from .tree_view import TreeView

DEBOUNCE_S = 0.05
QUIET_REFRESH_S = 5.0
PUSH_EVERY_S = 60.0


SNAPSHOT_KEYS = (
    "ok", "ts", "durationMs", "plugins", "configReload", "channels", "channelOrder", "channelLabels",
    "heartbeatSeconds", "defaultAgentId", "agents", "sessions", "eventLoop",
)


def reload_view(st: control.ReloadStatus | None, mode: str) -> dict[str, Any]:
    """`health.configReload`: upstream's `hotReloadStatus` plus what the watcher knows."""
    if st is None:
        return {"hotReloadStatus": "disabled" if mode == "off" else "active", "mode": mode, "status": "ok"}
    out: dict[str, Any] = {
        "hotReloadStatus": "disabled" if st.mode == "off" else "active",
        "mode": st.mode,
        "status": st.status,
        "path": st.path,
        "lastGoodHash": st.last_good_hash,
        "appliedHash": st.applied_hash,
        "pendingRestart": st.pending_restart,
        "lastChangeMs": st.last_change_ms,
        "lastPaths": st.last_paths,
        "lastActions": st.last_actions,
    }
    if st.status == "error":
        out.update(error=st.error, line=st.line, column=st.column)
    return out


def channel_entries(tree: TreeView, fragments: list[tuple[str, bytes]]) -> dict[str, dict[str, Any]]:
    """Channel id -> its status: the worker's own report, or what the supervisor knows of it."""
    out: dict[str, dict[str, Any]] = {}
    for p in tree.channels():
        out[p.channel_id or p.name] = {
            "configured": True, "running": p.state in ("running", "replacing"), "linked": False, "state": p.state,
            "pid": p.pid, "lastError": p.reason,
        }
    for slot, raw in fragments:
        if not slot.startswith("channel:"):
            continue
        try:
            entry = msgspec.json.decode(raw).get("channel")
        except (msgspec.DecodeError, AttributeError):
            continue
        if isinstance(entry, dict):
            cid = slot.split(":", 1)[1]
            out.setdefault(cid, {}).update(entry)
    return out


class HealthState:
    def __init__(
        self, settings: Settings, router: WorkerRouter, tree: TreeView, loop_monitor: LoopMonitor,
        push: Callable[[bytes], None],
    ) -> None:
        self.settings, self.router, self.tree, self.loop_monitor, self.push = settings, router, tree, loop_monitor, push
        self.version = 0
        self.payload = b"{}"
        self.snapshot_payload = b"{}"
        self.ok = False
        self.snapshot: dict[str, Any] = {}
        self._scheduled: asyncio.TimerHandle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_push = 0.0

    def start(self) -> None:
        self.rebuild()
        self._timer = asyncio.get_running_loop().call_later(QUIET_REFRESH_S, self._refresh)

    def stop(self) -> None:
        for h in (self._timer, self._scheduled):
            if h is not None:
                h.cancel()

    def _refresh(self) -> None:
        self.rebuild()
        if time.monotonic() - self._last_push >= PUSH_EVERY_S:
            self._push_now()
        self._timer = asyncio.get_running_loop().call_later(QUIET_REFRESH_S, self._refresh)

    def changed(self) -> None:
        """Rebuild now (answers are never stale); push once per burst of changes."""
        self.rebuild()
        if self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_later(DEBOUNCE_S, self._push_now)

    def _push_now(self) -> None:
        self._scheduled = None
        self.version += 1
        self._last_push = time.monotonic()
        self.push(self.snapshot_payload)

    def rebuild(self) -> None:
        t0 = time.perf_counter()
        not_ready = self.tree.not_ready()
        snapshot: dict[str, Any] = {
            "ok": not not_ready and self.tree.state is not None,
            "ts": int(time.time() * 1000),
            "durationMs": 0,
            "plugins": {"loaded": [], "errors": [], "unavailable": []},
            "configReload": reload_view(self.tree.reload, self.settings.gateway.reload_mode),
            "channels": {},
            "channelOrder": [],
            "channelLabels": {},
            "heartbeatSeconds": 0,
            "defaultAgentId": "main",
            "agents": [],
            "sessions": {"path": "", "count": 0, "recent": []},
            "modelRuntime": {"degraded": False, "pendingAgents": []},
        }
        fragments = self.router.fragments()
        for slot, raw in fragments:
            if slot.startswith("channel:"):
                continue
            try:
                data = msgspec.json.decode(raw)
            except DECODE_ERRORS:
                continue
            if isinstance(data, dict):
                snapshot.update(data)
        channels = channel_entries(self.tree, fragments)
        snapshot["channels"] = channels
        snapshot["channelOrder"] = sorted(channels)
        snapshot["channelLabels"] = {cid: cid.capitalize() for cid in channels}
        snapshot["workers"] = {
            p.name: {
                "ready": p.state in ("running", "replacing"), "pid": p.pid, "state": p.state,
                "restarts": p.restarts, "lastExit": p.last_exit, "reason": p.reason,
            }
            for p in self.tree.children
        }
        if not_ready or self.tree.degraded():
            snapshot["degradedReasons"] = [
                f"{p.name} {p.state}" + (f": {p.reason}" if p.reason else "") for p in [*not_ready, *self.tree.degraded()]
            ]
        snapshot["eventLoop"] = self.loop_monitor.snapshot()
        snapshot["durationMs"] = int((time.perf_counter() - t0) * 1000)
        self.ok = snapshot["ok"]
        self.snapshot = snapshot
        self.payload = msgspec.json.encode(snapshot)
        clean = {k: snapshot[k] for k in SNAPSHOT_KEYS}
        clean["ok"] = True  # the schema's `ok` says "collected"; degradation is in the `health` answer
        clean["configReload"] = {"hotReloadStatus": snapshot["configReload"]["hotReloadStatus"]}
        self.snapshot_payload = msgspec.json.encode(clean)
