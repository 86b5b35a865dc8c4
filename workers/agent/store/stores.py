"""All agents' session stores of one gateway: opened lazily, one SQLite connection each."""

from __future__ import annotations

from pathlib import Path

from .keys import normalize_agent_id
from .schema import DB_NAME
from .session_store import SessionStore


class Stores:
    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self._open: dict[str, SessionStore] = {}

    def get(self, agent_id: str) -> SessionStore:
        """The agent's store (created with the upstream schema on first use)."""
        agent = normalize_agent_id(agent_id)
        store = self._open.get(agent)
        if store is None:
            store = self._open[agent] = SessionStore(self.state_dir, agent)
        return store

    def agents_on_disk(self) -> list[str]:
        """Agents that already have a store file (what recover_interrupted runs over at worker start)."""
        root = self.state_dir / "agents"
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "agent" / DB_NAME).is_file())

    def recover_all(self) -> dict[str, list[str]]:
        """recover_interrupted() for every agent with a store: {agentId: [keys marked interrupted]}."""
        return {a: keys for a in self.agents_on_disk() if (keys := self.get(a).recover_interrupted())}

    def close(self) -> None:
        for store in self._open.values():
            store.close()
        self._open.clear()
