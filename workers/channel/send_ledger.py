"""`send` idempotency for one channel account, durable across worker restarts: a retried send
(same idempotencyKey) never posts twice.

    key unknown              -> row `sending` (committed before the platform call), then `sent` + result
    key `sent`, same input   -> the stored result, no second post
    key in flight here       -> waits for that send's outcome
    key `sending` from a process that died mid-send -> refused: it may have been posted (at most once)
    key, different input     -> INVALID_REQUEST (upstream's conflict answer)
    the platform call failed, retryable -> row removed: nothing was posted, a retry may post
    failed, not retryable (e.g. part of a long message was posted) -> kept: a retry gets the same error

SQLite (`<state>/channels/<channel id>.sqlite`, WAL); rows older than a day are pruned.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from openclaw.ipc.errors import ErrorCode, GatewayError
from openclaw.ipc.sqlite_tx import write_tx

KEEP_S = 24 * 3600
MAX_ROWS = 100_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL,
  result TEXT,
  created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_created ON sends(created_ms);
"""


def fingerprint(req: dict[str, Any]) -> str:
    return hashlib.sha256(msgspec.json.encode(req, order="sorted")).hexdigest()


class SendLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        path.chmod(0o600)
        self.inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._prune()

    def close(self) -> None:
        self.db.close()

    def _prune(self) -> None:
        cutoff = int((time.time() - KEEP_S) * 1000)
        with write_tx(self.db):
            self.db.execute("DELETE FROM sends WHERE created_ms < ? AND state != 'sending'", (cutoff,))
            (count,) = self.db.execute("SELECT count(*) FROM sends").fetchone()
            if count > MAX_ROWS:
                self.db.execute(
                    "DELETE FROM sends WHERE key IN (SELECT key FROM sends ORDER BY created_ms LIMIT ?)", (count - MAX_ROWS,)
                )

    async def once(self, key: str, req: dict[str, Any], post: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The result of posting `req` under `key`, posting it at most once."""
        fp = fingerprint(req)
        running = self.inflight.get(key)
        if running is not None:
            self._check_same(key, fp)
            return await asyncio.shield(running)
        with write_tx(self.db):
            row = self.db.execute("SELECT fingerprint, state, result FROM sends WHERE key = ?", (key,)).fetchone()
            if row is None:
                self.db.execute(
                    "INSERT INTO sends(key, fingerprint, state, created_ms) VALUES (?, ?, 'sending', ?)",
                    (key, fp, int(time.time() * 1000)),
                )
        if row is not None:
            if row[0] != fp:
                raise _conflict()
            if row[1] == "sent" and row[2]:
                return msgspec.json.decode(row[2])
            if row[1] == "failed" and row[2]:
                err = msgspec.json.decode(row[2])
                raise GatewayError(ErrorCode(err["code"]), f"{err['message']} (this idempotencyKey's send; not sent again)",
                                   retryable=False, details={"reason": "send-failed-earlier"})
            raise GatewayError(
                ErrorCode.UNAVAILABLE,
                "a send with this idempotencyKey was interrupted by a worker restart and may have been delivered; "
                "not sent again (use a new idempotencyKey to send it anyway)",
                retryable=False, details={"reason": "send-interrupted"},
            )
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.inflight[key] = fut
        try:
            result = await post()
        except BaseException as exc:
            with write_tx(self.db):
                if isinstance(exc, GatewayError) and exc.retryable is False:  # (part of) it may be out: never again
                    self.db.execute("UPDATE sends SET state = 'failed', result = ? WHERE key = ?",
                                    (msgspec.json.encode({"code": exc.code, "message": exc.message}), key))
                else:
                    self.db.execute("DELETE FROM sends WHERE key = ?", (key,))
            fut.set_exception(exc)
            fut.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self.inflight.pop(key, None)
        with write_tx(self.db):
            self.db.execute("UPDATE sends SET state = 'sent', result = ? WHERE key = ?", (msgspec.json.encode(result), key))
        fut.set_result(result)
        return result

    def _check_same(self, key: str, fp: str) -> None:
        row = self.db.execute("SELECT fingerprint FROM sends WHERE key = ?", (key,)).fetchone()
        if row is not None and row[0] != fp:
            raise _conflict()


def _conflict() -> GatewayError:
    return GatewayError(
        ErrorCode.INVALID_REQUEST,
        "This idempotencyKey was already used for a different message; use a new idempotencyKey to send again.",
        details={"reason": "send-request-conflict"},
    )
