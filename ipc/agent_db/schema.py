"""Open (and on first use create) one agent's `openclaw-agent.sqlite` exactly as upstream lays it out.

`schema.sql` is the upstream DDL verbatim (2026.9.6, user_version 23, dumped from a real file's
sqlite_master). It uses `octet_length()`, built into SQLite >= 3.43 only; on an older SQLite (this
Python's 3.40.1) every connection registers a deterministic `octet_length` (UTF-8 bytes, as the
builtin), so the DDL text in the file stays byte-identical to upstream's instead of being rewritten.
A reader with an old SQLite and no such function can still SELECT; it cannot write transcript rows.

The upstream reader requires: user_version 23, a `schema_meta` 'primary' row (role agent, this
agent's id), every table, and canonical session rows certified `entry_valid=1` (see session_store).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from importlib import resources
from pathlib import Path

from ..sqlite_tx import write_tx

SCHEMA_VERSION = 23
APP_VERSION = "openclaw-gateway"
DB_NAME = "openclaw-agent.sqlite"
BUSY_TIMEOUT_MS = 5000
_SKIP = re.compile(r"CREATE TABLE (sqlite_sequence|'?\w+_fts_(config|content|data|docsize|idx)'?)\b")


class StoreError(Exception):
    """The file exists but is not an agent store we may use (newer schema, other owner, corrupt)."""


def db_path(state_dir: str | Path, agent_id: str) -> Path:
    return Path(state_dir) / "agents" / agent_id / "agent" / DB_NAME


def schema_statements() -> list[str]:
    """The DDL statements, minus the objects SQLite creates itself (sqlite_sequence, FTS5 shadow tables)."""
    sql = resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")
    return [s.strip() for s in sql.split(";\n\n") if s.strip() and not _SKIP.match(s.strip())]


def _octet_length(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return len(value)
    return len(str(value).encode("utf-8"))


def register_functions(db: sqlite3.Connection) -> None:
    if sqlite3.sqlite_version_info < (3, 43, 0):
        db.create_function("octet_length", 1, _octet_length, deterministic=True)


def open_db(path: Path, agent_id: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit); creates the schema when the file is new."""
    if readonly:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        register_functions(db)
        check_owner(db, path, agent_id)
        return db
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for d in (path.parent, path.parent.parent):
        os.chmod(d, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    register_functions(db)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses no committed transaction, only a power cut might
    db.execute("PRAGMA foreign_keys=ON")
    if db.execute("PRAGMA user_version").fetchone()[0] == 0 and not _has_tables(db):
        create_schema(db, agent_id)
    check_owner(db, path, agent_id)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.chmod(side, 0o600)
    return db


def _has_tables(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] > 0


def create_schema(db: sqlite3.Connection, agent_id: str) -> None:
    """Every table, index and trigger plus the metadata rows, in one transaction."""
    now = int(time.time() * 1000)
    db.execute("PRAGMA auto_vacuum=2")  # upstream's files are incremental-vacuum; effective before the first table
    with write_tx(db):
        for stmt in schema_statements():
            db.execute(stmt)
        db.execute(
            "INSERT INTO schema_meta(meta_key, role, schema_version, agent_id, app_version, created_at, updated_at)"
            " VALUES ('primary', 'agent', ?, ?, ?, ?, ?)",
            (SCHEMA_VERSION, agent_id, APP_VERSION, now, now),
        )
        db.execute("INSERT OR IGNORE INTO session_key_contract(id, main_key, updated_at) VALUES (1, 'main', 0)")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def check_owner(db: sqlite3.Connection, path: Path, agent_id: str) -> None:
    """The same checks upstream's reader applies: schema version and owning agent."""
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        row = db.execute("SELECT role, schema_version, agent_id FROM schema_meta WHERE meta_key='primary'").fetchone()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: not a readable agent store ({e})") from e
    if version != SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {version}, expected {SCHEMA_VERSION}")
    if row is None or row[0] != "agent":
        raise StoreError(f"{path}: no agent schema_meta row")
    if row[2] != agent_id:
        raise StoreError(f"{path} belongs to agent {row[2]!r}; requested agent {agent_id!r}")
