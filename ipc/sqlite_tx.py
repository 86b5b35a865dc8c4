"""One SQLite write transaction, as every state database of the gateway writes (pairing, sessions)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def write_tx(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (no other writer between our read and our write) ... COMMIT, ROLLBACK on any
    exception. Inside a transaction already (nested use): part of the caller's transaction."""
    if db.in_transaction:
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
