"""What the read-side projections (rows, history, chat_view) need of a SessionStore: a protocol, so
they do not import the store that imports them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol


class StoreView(Protocol):
    agent_id: str
    path: Path
    db: sqlite3.Connection

    def node(self, key: str) -> sqlite3.Row | None: ...

    def all_nodes(self) -> list[sqlite3.Row]: ...
