"""`status`: upstream's overview (`captures/gateway-call-status-json.stdout.txt`), plus one key of this
gateway's own, `supervision`: every process of the tree with its state and last exit, the restart
generation, and what the config watcher knows.

`openclaw status --json` spreads this payload into its output, so upstream's keys stay upstream's
and ours stay under `supervision`. Read-scope callers get store paths redacted, as upstream does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc import control, scopes

from ..caller import Connection
from ..health_state import reload_view
from .params import decode

if TYPE_CHECKING:
    from ..services import Services

REDACTED = "[redacted]"


class StatusParams(msgspec.Struct):
    """Upstream's CLI sends these; unknown keys are tolerated (older and newer clients)."""

    includeChannelSummary: bool | None = None
    includeCliProjection: bool | None = None


def _process_row(p: control.ProcessInfo) -> dict[str, Any]:
    return {
        "name": p.name, "role": p.role, "kind": p.kind, "pid": p.pid, "state": p.state, "restarts": p.restarts,
        "rssBytes": p.rss_bytes, "uptimeMs": p.uptime_ms, "lastExit": p.last_exit, "reason": p.reason,
    }


def _sessions(health: dict[str, Any], admin: bool) -> dict[str, Any]:
    by_agent = []
    for a in health.get("agents") or []:
        if not isinstance(a, dict):
            continue
        s = a.get("sessions") or {}
        by_agent.append({
            "agentId": a.get("agentId"), "path": s.get("path") if admin else REDACTED,
            "count": s.get("count", 0), "recent": s.get("recent", []) if admin else [],
        })
    total = health.get("sessions") or {}
    return {
        "paths": [b["path"] for b in by_agent if b["path"]] if admin else [],
        "count": total.get("count", 0),
        "defaults": {"model": None, "contextTokens": None},
        "recent": total.get("recent", []) if admin else [],
        "byAgent": by_agent,
    }


def _heartbeat(health: dict[str, Any]) -> dict[str, Any]:
    agents = []
    for a in health.get("agents") or []:
        hb = a.get("heartbeat") or {}
        agents.append({
            "agentId": a.get("agentId"), "enabled": bool(hb.get("enabled")), "every": hb.get("every"),
            "everyMs": hb.get("everyMs"), "waitingForRoute": True,
        })
    return {"defaultAgentId": health.get("defaultAgentId", "main"), "agents": agents}


def _cli_projection(svc: Services, health: dict[str, Any]) -> dict[str, Any]:
    default = health.get("defaultAgentId") or "main"
    memory_slot = svc.settings.value("plugins.slots.memory", "memory-core")
    if svc.settings.value("plugins.enabled") is False:
        memory: dict[str, Any] = {"enabled": False, "slot": None, "reason": "plugins disabled"}
    elif memory_slot == "none":
        memory = {"enabled": False, "slot": None, "reason": 'plugins.slots.memory="none"'}
    else:
        memory = {"enabled": True, "slot": memory_slot}
    return {
        "agents": {"defaultId": default, "ownership": "sole", "selectionRequired": False, "rows": [{"id": default}]},
        "updateChannel": svc.settings.value("update.channel"),
        "memoryPlugin": memory,
    }


def _canvas(health: dict[str, Any], asked_port: int | None, admin: bool) -> dict[str, Any]:
    """Where the canvas host listens (its own report: the port is ephemeral when the gateway's is)."""
    info = health.get("canvasHost")
    if not isinstance(info, dict):
        return {"enabled": asked_port is not None, "port": None}
    return info if admin else {k: v for k, v in info.items() if k != "root"}


async def status(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = decode(raw, StatusParams, "status")
    tree = (await svc.supervisor.status()).state
    rows = [_process_row(proc) for proc in tree.processes]
    health = svc.health.snapshot
    admin = scopes.ADMIN in conn.principal.scopes
    g = svc.settings.gateway
    out: dict[str, Any] = {"runtimeVersion": svc.version}
    if p.includeCliProjection:
        out["cliProjection"] = _cli_projection(svc, health)
    channels = health.get("channels") or {}
    out.update({
        "hostDesktop": {"enabled": False, "state": "disabled", "port": 5900},
        "heartbeat": _heartbeat(health),
        "channelSummary": [
            f"{cid}: {'running' if c.get('running') else c.get('state', 'stopped')}" for cid, c in sorted(channels.items())
        ] if p.includeChannelSummary else [],
        "queuedSystemEvents": [],
        "degradedSecretOwners": [],
        "degradedPlugins": [],
        "tasks": {
            "total": 0, "active": 0, "terminal": 0, "failures": 0,
            "byStatus": dict.fromkeys(("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost"), 0),
            "byRuntime": dict.fromkeys(("subagent", "acp", "cli", "cron"), 0),
        },
        "taskAudit": {
            "total": 0, "warnings": 0, "errors": 0,
            "byCode": dict.fromkeys(
                ("stale_queued", "stale_running", "lost", "delivery_failed", "missing_cleanup", "inconsistent_timestamps"), 0
            ),
        },
        "sessions": _sessions(health, admin),
        "modelRuntime": health.get("modelRuntime") or {"degraded": False, "pendingAgents": []},
        "eventLoop": svc.loop_monitor.snapshot(),
        "processMemory": {"rssBytes": sum(r["rssBytes"] or 0 for r in rows), "heapUsedBytes": 0, "heapTotalBytes": 0},
        "workerPools": {},
        "pid": svc.settings.supervisor_pid,
        "supervision": {
            "implementation": svc.build_id,
            "bootId": svc.settings.boot_id,
            "generation": tree.generation,
            "frontendPid": os.getpid(),
            "startedAtMs": svc.settings.started_at_ms,
            "uptimeMs": svc.uptime_ms(),
            "healthy": svc.health.ok,
            "processes": rows,
            "connections": len(svc.hub.connections),
            "inflightCalls": len(svc.router.pending),
            "configReload": reload_view(tree.reload, g.reload_mode),
            "listen": {"port": g.port, "bindMode": g.bind_mode, "bindHosts": g.bind_hosts, "authMode": g.auth_mode},
            "canvasHost": _canvas(health, g.canvas_port, admin),
            **({"configPath": g.config_path, "stateDir": g.state_dir, "profile": g.profile or "default"} if admin else {}),
        },
    })
    return msgspec.json.encode(out)
