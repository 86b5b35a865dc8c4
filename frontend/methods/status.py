"""`status`: upstream's overview (`captures/gateway-call-status-json.stdout.txt`) plus this gateway's
own: every process of the tree with its state, and what the config watcher knows."""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc import control

from ..caller import Connection
from ..health_state import reload_view
from .params import decode

if TYPE_CHECKING:
    from ..services import Services


class StatusParams(msgspec.Struct):
    """Upstream's CLI asks for these; unknown keys are tolerated (older and newer clients)."""

    includeChannelSummary: bool | None = None
    includeCliProjection: bool | None = None


def _process_row(p: control.ProcessInfo) -> dict[str, Any]:
    return {
        "name": p.name, "role": p.role, "kind": p.kind, "pid": p.pid, "state": p.state, "restarts": p.restarts,
        "rssBytes": p.rss_bytes, "uptimeMs": p.uptime_ms, "lastExit": p.last_exit, "reason": p.reason,
    }


def _sessions(health: dict[str, Any]) -> dict[str, Any]:
    agents = health.get("agents") or []
    by_agent = [
        {"agentId": a.get("agentId"), "path": (a.get("sessions") or {}).get("path"),
         "count": (a.get("sessions") or {}).get("count", 0), "recent": (a.get("sessions") or {}).get("recent", [])}
        for a in agents if isinstance(a, dict)
    ]
    total = health.get("sessions") or {}
    return {
        "paths": [b["path"] for b in by_agent if b["path"]],
        "count": total.get("count", 0),
        "defaults": {"model": None, "contextTokens": None},
        "recent": total.get("recent", []),
        "byAgent": by_agent,
    }


def _heartbeat(health: dict[str, Any]) -> dict[str, Any]:
    agents = []
    for a in health.get("agents") or []:
        hb = a.get("heartbeat") or {}
        agents.append(
            {"agentId": a.get("agentId"), "enabled": bool(hb.get("enabled")), "every": hb.get("every"),
             "everyMs": hb.get("everyMs"), "waitingForRoute": True}
        )
    return {"defaultAgentId": health.get("defaultAgentId", "main"), "agents": agents}


async def status(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = decode(raw, StatusParams, "status")
    reply = await svc.supervisor.status()
    tree = reply.state
    rows = [_process_row(proc) for proc in tree.processes]
    health = svc.health.snapshot
    g = svc.settings.gateway
    channels = health.get("channels") or {}
    out: dict[str, Any] = {
        "runtimeVersion": f"python {platform.python_version()}",
        "version": svc.version,
        "hostDesktop": {"enabled": False, "state": "disabled", "port": None},
        "heartbeat": _heartbeat(health),
        "channelSummary": [
            f"{cid}: {'running' if c.get('running') else c.get('state', 'stopped')}" for cid, c in sorted(channels.items())
        ] if p.includeChannelSummary is not False else [],
        "queuedSystemEvents": [],
        "degradedSecretOwners": [],
        "degradedPlugins": [],
        "tasks": {
            "total": 0, "active": 0, "terminal": 0, "failures": 0,
            "byStatus": {k: 0 for k in ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost")},
            "byRuntime": {k: 0 for k in ("subagent", "acp", "cli", "cron")},
        },
        "taskAudit": {
            "total": 0, "warnings": 0, "errors": 0,
            "byCode": {k: 0 for k in ("stale_queued", "stale_running", "lost", "delivery_failed", "missing_cleanup", "inconsistent_timestamps")},
        },
        "sessions": _sessions(health),
        "modelRuntime": health.get("modelRuntime") or {"degraded": False, "pendingAgents": []},
        "eventLoop": svc.loop_monitor.snapshot(),
        "processMemory": {"rssBytes": sum(r["rssBytes"] or 0 for r in rows)},
        "workerPools": {},
        "pid": svc.settings.supervisor_pid,
        "shutdownBudget": {
            "timeoutMs": 10000, "reserveMs": 2000, "nativeStopBudget": False,
            "activeWork": {"rootRequests": svc.router.pending.__len__()}, "writeCustody": [],
        },
        "frontendPid": os.getpid(),
        "bootId": svc.settings.boot_id,
        "generation": tree.generation,
        "uptimeMs": svc.uptime_ms(),
        "startedAtMs": svc.settings.started_at_ms,
        "configPath": g.config_path,
        "stateDir": g.state_dir,
        "profile": g.profile or "default",
        "gateway": {"port": g.port, "bindMode": g.bind_mode, "bindHosts": g.bind_hosts, "authMode": g.auth_mode},
        "configReload": reload_view(tree.reload, g.reload_mode),
        "processes": rows,
        "connections": len(svc.hub.connections),
        "health": {"ok": svc.health.ok},
    }
    if p.includeCliProjection:
        out["cliProjection"] = {"sessions": out["sessions"], "channelSummary": out["channelSummary"]}
    return msgspec.json.encode(out)
