"""`status`: version, PIDs, uptime, config path and every process of the tree."""

from __future__ import annotations

import os
import platform
import time
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from ..context import Frontend
    from ..ws.session import Session


async def status(fe: Frontend, session: Session, raw: bytes) -> bytes:
    reply = await fe.supervisor.status()
    processes = [msgspec.structs.asdict(p) for p in reply.processes]
    tree_rss = sum(p["rss_bytes"] or 0 for p in processes)
    rows: list[dict[str, Any]] = [
        {
            "name": p["name"], "role": p["role"], "pid": p["pid"], "state": p["state"], "restarts": p["restarts"],
            "rssBytes": p["rss_bytes"], "uptimeMs": p["uptime_ms"], "lastExit": p["last_exit"],
        }
        for p in processes
    ]
    g = fe.gateway
    out: dict[str, Any] = {
        "version": fe.version,
        "runtimeVersion": f"python {platform.python_version()}",
        "pid": fe.cfg.supervisor_pid,
        "frontendPid": os.getpid(),
        "bootId": fe.cfg.boot_id,
        "generation": reply.generation,
        "uptimeMs": int((time.monotonic() - fe.started_mono) * 1000),
        "startedAtMs": fe.cfg.started_at_ms,
        "configPath": g.config_path,
        "stateDir": g.state_dir,
        "profile": g.profile or "default",
        "gateway": {"port": g.port, "bindMode": g.bind_mode, "bindHosts": g.bind_hosts, "authMode": g.auth_mode},
        "processes": rows,
        "processMemory": {"rssBytes": tree_rss},
        "connections": len(fe.hub.sessions),
        "heartbeat": {"defaultAgentId": "main", "agents": []},
        "channelSummary": [],
        "queuedSystemEvents": [],
        "sessions": {"count": 0, "recent": []},
        "eventLoop": fe.loop_monitor.snapshot(),
        "health": {"ok": fe.health.ok},
    }
    return msgspec.json.encode(out)
