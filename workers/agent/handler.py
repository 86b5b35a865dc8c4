"""The agent worker: agents, sessions and (later) model runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from openclaw.ipc import control, envelope
from openclaw.ipc.config import config_value
from openclaw.ipc.errors import invalid_request
from openclaw.workers.runtime import Worker

DEFAULT_AGENT = "main"
HEARTBEAT = {"enabled": True, "every": "30m", "everyMs": 1_800_000, "prompt": "", "target": "owner", "ackMaxChars": 300}


class AgentWorker(Worker):
    kind = "agent"
    events = ("agent", "chat", "sessions.changed", "heartbeat")

    def __init__(self, cfg: control.Configure) -> None:
        super().__init__(cfg)
        self.sessions_path = str(Path(self.gateway.state_dir) / "agents" / DEFAULT_AGENT / "sessions" / "sessions.json")
        self.sessions: list[dict[str, Any]] = []
        self.last_heartbeat: dict[str, Any] | None = None  # set once a heartbeat has run
        self.methods = {
            "sessions.list": self.sessions_list,
            "last-heartbeat": self.last_heartbeat_method,
            "doctor.memory.status": self.memory_status,
        }

    @property
    def default_agent(self) -> str:
        agent = config_value(self.config, "agents.defaults.id", DEFAULT_AGENT)
        return agent if isinstance(agent, str) and agent else DEFAULT_AGENT

    def apply_config(self, config: dict[str, Any], paths: list[str]) -> None:
        """agents.* is hot: the next answer and health fragment use it."""
        self.config = config
        self.log.info("agent settings updated", paths=paths[:10])

    def _sessions_summary(self) -> dict[str, Any]:
        return {"path": self.sessions_path, "count": len(self.sessions), "recent": self.sessions[:5]}

    def health_fragment(self) -> dict[str, Any]:
        return {
            "heartbeatSeconds": HEARTBEAT["everyMs"] // 1000,
            "defaultAgentId": self.default_agent,
            "agents": [
                {"agentId": self.default_agent, "isDefault": True, "heartbeat": HEARTBEAT, "sessions": self._sessions_summary()}
            ],
            "sessions": self._sessions_summary(),
            "modelRuntime": {"degraded": False, "pendingAgents": []},
        }

    def sessions_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        limit = params.get("limit")
        offset = params.get("offset", 0)
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise invalid_request("invalid sessions.list params: limit must be a positive integer")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise invalid_request("invalid sessions.list params: offset must be a non-negative integer")
        rows = self.sessions[offset : offset + limit if limit else None]
        next_offset = offset + len(rows)
        return {
            "ts": int(time.time() * 1000),
            "path": self.sessions_path,
            "count": len(rows),
            "totalCount": len(self.sessions),
            "limitApplied": limit,
            "nextOffset": next_offset if next_offset < len(self.sessions) else None,
            "hasMore": next_offset < len(self.sessions),
            "owners": [],
            "defaults": {"modelProvider": None, "model": None, "contextTokens": None},
            "sessions": rows,
        }


    def last_heartbeat_method(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any] | None:
        """The last heartbeat run, or null: no heartbeat has run (agent runs land with issue 8)."""
        return self.last_heartbeat

    def memory_status(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        """What upstream answers when no memory search runtime is registered."""
        return {
            "agentId": self.default_agent,
            "searchRuntimeRegistered": False,
            "embedding": {"ok": False, "error": "memory search unavailable"},
        }


def make_worker(cfg: control.Configure) -> AgentWorker:
    return AgentWorker(cfg)
