"""The ingress spool: every Telegram update is written here before Telegram is told it was received.

One SQLite file per account (`state_dir/telegram/<account>.sqlite`, WAL): the updates with their processing
state, and the getUpdates offset. Guarantees, across a crash at any point:

* no update lost: a getUpdates batch is stored (INSERT OR IGNORE by update_id) together with the new offset
  in one transaction (synchronous=FULL) *before* the next getUpdates sends that offset, which is what confirms
  the batch to Telegram; a crash before the commit re-fetches the same batch;
* no update processed twice: the primary key drops a re-delivered update; an update found `running` after a
  restart is dispatched again with the same idempotency key, which joins the agent's cached or in-flight run;
* a reply at most once: an update is marked `replying` before its reply is sent and `done` after; one found
  `replying` after a restart is closed, not re-sent.

States (a row only moves along TRANSITIONS):
    pending  --dispatch-->  running  --reply-->  replying  --sent-->  done
    pending  --pairing reply-->  replying;   pending/running  --nothing to send-->  done

Bounded: at most `max_open` unfinished rows are accepted (`has_room()`; the poller stops fetching and the
webhook answers 503 until they drain), and only the newest `keep_done` finished rows are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw.ipc.sqlite_tx import write_tx

__all__ = ["TRANSITIONS", "IngressSpool", "SpoolRow", "chat_key", "spool_path"]

PENDING, RUNNING, REPLYING, DONE = "pending", "running", "replying", "done"
STATES = (PENDING, RUNNING, REPLYING, DONE)
TRANSITIONS: dict[tuple[str, str], str] = {
    (PENDING, RUNNING): "dispatched to an agent run",
    (PENDING, REPLYING): "a reply that needs no run (pairing code) is being sent",
    (PENDING, DONE): "nothing to do (policy drop, unsupported update)",
    (RUNNING, REPLYING): "the run's reply is being sent",
    (RUNNING, DONE): "the run ended with nothing to send",
    (REPLYING, DONE): "the reply was sent (or given up)",
}
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    update_id   INTEGER PRIMARY KEY,
    chat_key    TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','running','replying','done')),
    received_at REAL NOT NULL,
    updated_at  REAL NOT NULL,
    note        TEXT
);
CREATE INDEX IF NOT EXISTS updates_open ON updates (chat_key, update_id) WHERE state != 'done';
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""
_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message",
                  "edited_business_message", "message_reaction", "my_chat_member", "chat_member",
                  "chat_join_request", "chat_boost", "removed_chat_boost")


MAX_UPDATE_ID = 2**63 - 1  # SQLite INTEGER; Telegram's ids are 32-bit


def is_update(u: Any) -> bool:
    """An object with an update_id SQLite can hold (a bool is not an id)."""
    uid = u.get("update_id") if isinstance(u, dict) else None
    return isinstance(uid, int) and not isinstance(uid, bool) and 0 <= uid <= MAX_UPDATE_ID


def spool_path(state_dir: Path, account_id: str) -> Path:
    """`state_dir/telegram/<account>.sqlite`; an account id with other characters than [A-Za-z0-9_.-] gets a
    sanitised name plus a short hash (so two odd ids never share a file)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", account_id) or "_"
    if safe != account_id or safe.startswith("."):
        safe = f"{safe.lstrip('.')}-{hashlib.sha256(account_id.encode()).hexdigest()[:8]}"
    return state_dir / "telegram" / f"{safe}.sqlite"


def chat_key(update: dict[str, Any]) -> str:
    """The ordering key of an update: its chat (updates of one chat are handled one after another)."""
    for kind in _MESSAGE_KINDS:
        msg = update.get(kind)
        if isinstance(msg, dict) and isinstance(msg.get("chat"), dict) and "id" in msg["chat"]:
            return f"chat:{msg['chat']['id']}"
    cq = update.get("callback_query")
    if isinstance(cq, dict) and isinstance(cq.get("message"), dict) and isinstance(cq["message"].get("chat"), dict):
        return f"chat:{cq['message']['chat'].get('id')}"
    return "other"


@dataclass(frozen=True)
class SpoolRow:
    update_id: int
    chat_key: str
    update: dict[str, Any]
    state: str
    note: str | None


class TransitionError(RuntimeError):
    """A state change the table does not allow (a bug, not an input error)."""


class IngressSpool:
    def __init__(self, path: Path, *, max_open: int = 10_000, keep_done: int = 2_000) -> None:
        self.path = path
        self.max_open = max_open
        self.keep_done = keep_done
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # state changes: safe against a process crash
        self.db.execute("PRAGMA busy_timeout=2000")
        with write_tx(self.db):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._since_prune = 0

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ offset / ingress

    @property
    def offset(self) -> int | None:
        """The offset the next getUpdates sends (last stored update_id + 1); None before the first batch."""
        row = self.db.execute("SELECT value FROM meta WHERE key='offset'").fetchone()
        return int(row[0]) if row else None

    def open_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM updates WHERE state != 'done'").fetchone()[0])

    def has_room(self) -> bool:
        return self.open_count() < self.max_open

    def bind_bot(self, bot_id: int) -> int | None:
        """The spool is one bot's: update ids and the offset are per bot. When getMe names another bot
        (the account's token changed), its offset and the previous bot's rows are dropped (their chats
        are that bot's); returns how many unfinished rows were dropped, None when the bot is the same."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'bot_id'").fetchone()
        if row is not None and row[0] == str(bot_id):
            return None
        dropped = 0
        with write_tx(self.db):
            if row is not None:  # (no bot recorded yet: the spool is adopted as this bot's)
                (dropped,) = self.db.execute("SELECT count(*) FROM updates WHERE state != ?", (DONE,)).fetchone()
                self.db.execute("DELETE FROM meta WHERE key = 'offset'")
                self.db.execute("DELETE FROM updates")
            self.db.execute("INSERT INTO meta (key, value) VALUES ('bot_id', ?) ON CONFLICT (key) DO UPDATE SET "
                            "value = excluded.value", (str(bot_id),))
        return dropped if row is not None else None

    def store(self, updates: list[dict[str, Any]], *, advance_offset: bool = True) -> list[int]:
        """Spool a batch (and, for polling, the offset that confirms it) in one durable transaction.
        Returns the update_ids that were new."""
        now = time.time()
        fresh: list[int] = []
        valid = [u for u in updates if is_update(u)]
        self.db.execute("PRAGMA synchronous=FULL")  # what Telegram forgets once confirmed must be on disk
        try:
            with write_tx(self.db):
                for u in valid:
                    cur = self.db.execute(
                        "INSERT OR IGNORE INTO updates (update_id, chat_key, body, received_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (u["update_id"], chat_key(u), json.dumps(u, separators=(",", ":")), now, now))
                    if cur.rowcount:
                        fresh.append(u["update_id"])
                if advance_offset and valid:
                    nxt = max(u["update_id"] for u in valid) + 1
                    self.db.execute(
                        "INSERT INTO meta (key, value) VALUES ('offset', ?) ON CONFLICT (key) DO UPDATE SET "
                        "value = CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
                        (str(nxt),))
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")
        return fresh

    # ------------------------------------------------------------------ processing state

    @staticmethod
    def _row(r: tuple[Any, ...]) -> SpoolRow:
        return SpoolRow(update_id=r[0], chat_key=r[1], update=json.loads(r[2]), state=r[3], note=r[4])

    def get(self, update_id: int) -> SpoolRow | None:
        r = self.db.execute("SELECT update_id, chat_key, body, state, note FROM updates WHERE update_id=?",
                            (update_id,)).fetchone()
        return self._row(r) if r else None

    def recover(self) -> int:
        """After a restart: rows caught `replying` are closed without re-sending (at most once per reply).
        `running` rows stay: they are dispatched again with the same idempotency key. Returns rows closed."""
        with write_tx(self.db):
            cur = self.db.execute("UPDATE updates SET state='done', updated_at=?, note=? WHERE state='replying'",
                                  (time.time(), "interrupted while replying; not re-sent"))
        return cur.rowcount

    def open_chats(self, limit: int = 1000) -> list[str]:
        """Chats with unfinished updates, the one holding the oldest update first."""
        rows = self.db.execute("SELECT chat_key, min(update_id) AS first FROM updates WHERE state != 'done' "
                               "GROUP BY chat_key ORDER BY first LIMIT ?", (limit,)).fetchall()
        return [r[0] for r in rows]

    def next_for_chat(self, key: str) -> SpoolRow | None:
        """The oldest unfinished update of a chat."""
        r = self.db.execute("SELECT update_id, chat_key, body, state, note FROM updates "
                            "WHERE chat_key=? AND state != 'done' ORDER BY update_id LIMIT 1", (key,)).fetchone()
        return self._row(r) if r else None

    def advance(self, update_id: int, to_state: str, note: str | None = None) -> str:
        """Move a row along TRANSITIONS (from whatever allowed state it is in); returns the previous state."""
        with write_tx(self.db):
            r = self.db.execute("SELECT state FROM updates WHERE update_id=?", (update_id,)).fetchone()
            if r is None:
                raise TransitionError(f"update {update_id} is not in the spool")
            if (r[0], to_state) not in TRANSITIONS:
                raise TransitionError(f"update {update_id}: {r[0]} -> {to_state} is not a transition")
            self.db.execute("UPDATE updates SET state=?, updated_at=?, note=coalesce(?, note) WHERE update_id=?",
                            (to_state, time.time(), note, update_id))
        if to_state == DONE:
            self._since_prune += 1
            if self._since_prune >= 100:
                self.prune()
        return str(r[0])

    def prune(self) -> int:
        """Forget all but the newest `keep_done` finished rows."""
        self._since_prune = 0
        with write_tx(self.db):
            cur = self.db.execute(
                "DELETE FROM updates WHERE state='done' AND update_id < (SELECT update_id FROM updates "
                "WHERE state='done' ORDER BY update_id DESC LIMIT 1 OFFSET ?)", (max(0, self.keep_done - 1),))
        return cur.rowcount

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, count(*) FROM updates GROUP BY state").fetchall()
        return {s: 0 for s in STATES} | {r[0]: int(r[1]) for r in rows}
