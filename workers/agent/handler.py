"""The agent worker: agents, sessions (store), model runs (runs), tools.

It owns `stores` (workers/agent/store), `catalog` (workers/agent/providers/catalog), `tools`
(workers/agent/tools registry, when present) and `runs` (workers/agent/runs). Its methods are the
union of the sessions methods, the tools methods and the run methods.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

from openclaw.ipc import agents_config, control, envelope
from openclaw.ipc.config import config_value
from openclaw.workers.agent import sessions_methods
from openclaw.workers.agent.providers import catalog
from openclaw.workers.agent.runs.manager import RunManager
from openclaw.workers.agent.runs.methods import RunMethods
from openclaw.workers.agent.runs.run_queue import DEFAULT_MAX_CONCURRENT
from openclaw.workers.agent.runs.turn import TurnDeps
from openclaw.workers.agent.store.stores import Stores
from openclaw.workers.runtime import Worker

DEFAULT_AGENT = "main"
HEARTBEAT = {"enabled": True, "every": "30m", "everyMs": 1_800_000, "prompt": "", "target": "owner", "ackMaxChars": 300}
STOP_BUDGET_S = 3.0


def _tools_parts() -> tuple[Any, Any]:
    """D's tool registry and its RPC methods, when that part is installed (else: runs have no tools)."""
    try:
        registry = importlib.import_module("openclaw.workers.agent.tools.registry")
        methods = importlib.import_module("openclaw.workers.agent.tools_methods")
    except ModuleNotFoundError:
        return None, None
    return registry, methods


class AgentWorker(Worker):
    kind = "agent"
    events = ("agent", "chat", "sessions.changed", "session.message", "heartbeat")

    def __init__(self, cfg: control.Configure) -> None:
        super().__init__(cfg)
        self.state_dir = Path(self.gateway.state_dir)
        self.stores = Stores(self.state_dir)
        self.catalog = catalog
        registry_mod, tools_methods = _tools_parts()
        self.tools = registry_mod.ToolRegistry(self) if registry_mod is not None else None
        self.last_heartbeat: dict[str, Any] | None = None  # set once a heartbeat has run
        self.runs = RunManager(
            TurnDeps(config=lambda: self.config, store_for=self.stores.get, catalog=self.catalog, tools=self.tools,
                     publish=lambda topic, conn, event, payload: self.publish(topic, conn, event, payload)),
            max_concurrent=self._max_concurrent(),
        )
        self.methods = {
            "last-heartbeat": self.last_heartbeat_method,
            "doctor.memory.status": self.memory_status,
        }
        self.methods.update(sessions_methods.methods(self))
        if tools_methods is not None:
            self.methods.update(tools_methods.methods(self))
        self.methods.update(RunMethods(self, self.runs).table())

    @property
    def default_agent(self) -> str:
        return agents_config.default_agent_id(self.config)

    def _max_concurrent(self) -> int:
        value = config_value(self.config, "agents.defaults.maxConcurrent", DEFAULT_MAX_CONCURRENT)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_MAX_CONCURRENT

    def store_path(self, agent_id: str) -> str:
        return str(self.state_dir / "agents" / agent_id / "agent" / "openclaw-agent.sqlite")

    async def start(self) -> None:
        """Sessions a crash left `running` are marked interrupted before any new run starts."""
        agents_dir = self.state_dir / "agents"
        if agents_dir.is_dir():
            for db in sorted(agents_dir.glob("*/agent/openclaw-agent.sqlite")):
                agent_id = db.parent.parent.name
                keys = self.stores.get(agent_id).recover_interrupted()
                if keys:
                    self.log.warning("runs cut off by a stop or crash marked interrupted", agentId=agent_id, sessions=keys[:20])

    def begin_stop(self) -> None:
        """Every run ends now with "gateway stopping" (events, final res, store), before the drain waits."""
        self._stopping = asyncio.get_running_loop().create_task(self.runs.stop_all(STOP_BUDGET_S))

    async def stop(self) -> None:
        stopping = getattr(self, "_stopping", None)
        await (stopping if stopping is not None else self.runs.stop_all(STOP_BUDGET_S))
        self.stores.close()

    def apply_config(self, config: dict[str, Any], paths: list[str]) -> None:
        """models/agents/tools/session are hot: the next run uses them."""
        self.config = config
        self.runs.queue.max_concurrent = self._max_concurrent()
        self.log.info("agent settings updated", paths=paths[:10])

    def _sessions_summary(self) -> dict[str, Any]:
        path = self.store_path(self.default_agent)
        if not Path(path).is_file():
            return {"path": path, "count": 0, "recent": []}  # no run yet: no store to open (none is created)
        try:
            return self.stores.get(self.default_agent).health_summary()
        except Exception as exc:  # noqa: BLE001 - health must answer even with a broken store
            return {"path": path, "count": 0, "recent": [], "error": str(exc)[:200]}

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

    def last_heartbeat_method(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any] | None:
        """The last heartbeat run, or null: no heartbeat has run."""
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
