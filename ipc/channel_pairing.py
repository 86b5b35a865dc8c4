"""DM pairing for chat channels: pending pairing requests (a code per unknown sender) and the senders
an operator approved. Upstream's own tables in upstream's own file, `<state_dir>/state/openclaw.sqlite`,
with upstream's DDL verbatim, so the upstream CLI (`openclaw pairing list|approve`) reads and writes
what the gateway's channel workers write, and the other way round.

Rules (upstream `src/pairing/pairing-store.ts`): a code is 8 characters from
ABCDEFGHJKLMNPQRSTUVWXYZ23456789, unique within the channel; a request lives 1 h from its creation
(expired rows are ignored and pruned by the next write); at most 3 pending requests per account (the
oldest by last-seen are dropped beyond that, and a 4th sender gets no code); a repeat request only
bumps `lastSeenAt`. Approving by code moves the sender into the allow entries of the account.

Upstream may migrate the file to its full schema (user_version 18, ~300 objects) the first time its
CLI opens it; our statements are all IF NOT EXISTS and touch only these two tables, so both keep
working on the same file. Every change is one BEGIN IMMEDIATE transaction (ipc/sqlite_tx.write_tx):
two processes (a channel worker and the CLI) never lose each other's writes.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .sqlite_tx import write_tx

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PENDING_TTL_MS = 3_600_000
PENDING_PER_ACCOUNT = 3
BUSY_TIMEOUT_MS = 5000
CODE_ATTEMPTS = 500

# Verbatim from upstream's OPENCLAW_STATE_SCHEMA_SQL (openclaw@2026.9.6).
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS channel_pairing_requests (
  channel_key TEXT NOT NULL,
  account_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  code TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  meta_json TEXT,
  PRIMARY KEY (channel_key, account_id, request_id)
) STRICT;

CREATE INDEX IF NOT EXISTS idx_channel_pairing_requests_code
  ON channel_pairing_requests(channel_key, code);

CREATE INDEX IF NOT EXISTS idx_channel_pairing_requests_created
  ON channel_pairing_requests(channel_key, created_at, request_id);

CREATE TABLE IF NOT EXISTS channel_pairing_allow_entries (
  channel_key TEXT NOT NULL,
  account_id TEXT NOT NULL,
  entry TEXT NOT NULL,
  sort_order INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel_key, account_id, entry)
) STRICT;

CREATE INDEX IF NOT EXISTS idx_channel_pairing_allow_account
  ON channel_pairing_allow_entries(channel_key, account_id, sort_order, entry);
"""

_UNSAFE_KEY_CHARS = re.compile(r'[\\/:*?"<>|]')
# Allow entries are stored bare: "telegram:555001" / "tg:555001" -> "555001" (upstream's pairing adapter).
_ENTRY_PREFIXES = {"telegram": re.compile(r"^(telegram|tg):", re.IGNORECASE)}


class PairingKeyError(ValueError):
    """A blank or unusable channel / account name."""


def db_path(state_dir: Path) -> Path:
    return Path(state_dir) / "state" / "openclaw.sqlite"


def channel_key(channel: str) -> str:
    """Upstream safeChannelKey: lower-cased, path-unsafe characters and '..' replaced by '_'."""
    raw = channel.strip().lower() if isinstance(channel, str) else ""
    if not raw:
        raise PairingKeyError("invalid pairing channel: expected a non-empty string")
    safe = _UNSAFE_KEY_CHARS.sub("_", raw).replace("..", "_")
    if safe == "_":
        raise PairingKeyError("invalid pairing channel: sanitized key is empty")
    return safe


def account_key(account_id: str | None) -> str:
    """Upstream resolveAllowFromAccountId: lower-cased, blank -> "default"."""
    return (account_id.strip().lower() if isinstance(account_id, str) else "") or "default"


def normalize_entry(channel: str, sender_id: str | int) -> str:
    text = str(sender_id).strip()
    prefix = _ENTRY_PREFIXES.get(channel.strip().lower())
    if prefix is not None:
        text = prefix.sub("", text).strip()
    return "" if text == "*" else text


def iso_now(now_ms: int) -> str:
    """JavaScript's Date.toISOString(): UTC, milliseconds, 'Z'."""
    t = _dt.datetime.fromtimestamp(now_ms / 1000, tz=_dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_iso_ms(text: Any) -> int | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        t = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return int(t.timestamp() * 1000)


def request_id_of(channel: str, account_id: str, sender_id: str, created_at: str) -> str:
    """Upstream resolveChannelPairingRequestId: the opaque 32-character id of a request (RPCs use it
    to approve or dismiss without showing the code)."""
    digest = hashlib.sha256(f"{channel}\0{account_id}\0{sender_id}\0{created_at}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def new_code(taken: set[str]) -> str:
    for _ in range(CODE_ATTEMPTS):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code
    raise RuntimeError(f"no unique pairing code after {CODE_ATTEMPTS} attempts ({len(taken)} codes in use)")


def _clean_meta(meta: dict[str, Any] | None) -> dict[str, str]:
    """Upstream keeps only non-empty string values; numbers are kept as their text."""
    out: dict[str, str] = {}
    for key, value in (meta or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            out[str(key)] = value.strip()
    return out


def _load_meta(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return _clean_meta(value) if isinstance(value, dict) else {}


class ChannelPairingStore:
    """Synchronous; each call opens its own connection (cheap, and a file upstream replaced or migrated
    is simply picked up). Safe to use from several processes at once."""

    def __init__(self, state_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.state_dir = Path(state_dir)
        self.path = db_path(self.state_dir)
        self._clock = clock

    # ------------------------------------------------------------------ plumbing

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            have = {r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name IN "
                "('channel_pairing_requests','channel_pairing_allow_entries')")}
            if len(have) < 2:
                with write_tx(db):  # statement by statement: executescript would COMMIT on its own
                    for statement in SCHEMA_SQL.split(";"):
                        if statement.strip():
                            db.execute(statement)
            yield db
        finally:
            db.close()

    def _expired(self, created_at: str, now_ms: int) -> bool:
        created = parse_iso_ms(created_at)
        return created is None or now_ms - created > PENDING_TTL_MS

    def _prune(self, db: sqlite3.Connection, ckey: str, now_ms: int) -> list[sqlite3.Row]:
        """Delete expired requests and those beyond 3 per account (oldest last-seen first); return the rest
        in upstream's order (created_at, account, id)."""
        rows = db.execute(
            "SELECT * FROM channel_pairing_requests WHERE channel_key=? ORDER BY created_at, account_id, request_id",
            (ckey,),
        ).fetchall()
        drop = [r for r in rows if self._expired(r["created_at"], now_ms)]
        live = [r for r in rows if not self._expired(r["created_at"], now_ms)]
        by_account: dict[str, list[sqlite3.Row]] = {}
        for r in live:
            by_account.setdefault(r["account_id"], []).append(r)
        for entries in by_account.values():
            if len(entries) > PENDING_PER_ACCOUNT:
                entries = sorted(entries, key=lambda r: parse_iso_ms(r["last_seen_at"]) or parse_iso_ms(r["created_at"]) or 0)
                drop.extend(entries[: len(entries) - PENDING_PER_ACCOUNT])
        if drop:
            db.executemany(
                "DELETE FROM channel_pairing_requests WHERE channel_key=? AND account_id=? AND request_id=?",
                [(ckey, r["account_id"], r["request_id"]) for r in drop],
            )
            gone = {(r["account_id"], r["request_id"]) for r in drop}
            live = [r for r in live if (r["account_id"], r["request_id"]) not in gone]
        return live

    def _entry(self, channel: str, row: sqlite3.Row) -> dict[str, Any]:
        meta = {**_load_meta(row["meta_json"]), "accountId": account_key(row["account_id"])}
        return {
            "id": row["request_id"], "code": row["code"], "createdAt": row["created_at"],
            "lastSeenAt": row["last_seen_at"] or row["created_at"], "meta": meta,
            # ours, beyond upstream's JSON entry (the CLI prints only the five keys above):
            "channel": channel, "accountId": account_key(row["account_id"]),
            "requestId": request_id_of(channel, account_key(row["account_id"]), row["request_id"], row["created_at"]),
            "expiresAt": iso_now((parse_iso_ms(row["created_at"]) or 0) + PENDING_TTL_MS),
        }

    def _add_allow(self, db: sqlite3.Connection, ckey: str, account: str, entry: str) -> None:
        if not entry:
            return
        row = db.execute(
            "SELECT 1 FROM channel_pairing_allow_entries WHERE channel_key=? AND account_id=? AND entry=?",
            (ckey, account, entry),
        ).fetchone()
        if row is not None:
            return
        (top,) = db.execute(
            "SELECT COALESCE(MAX(sort_order), -1) FROM channel_pairing_allow_entries WHERE channel_key=? AND account_id=?",
            (ckey, account),
        ).fetchone()
        db.execute(
            "INSERT INTO channel_pairing_allow_entries (channel_key, account_id, entry, sort_order, updated_at) VALUES (?,?,?,?,?)",
            (ckey, account, entry, top + 1, self._now_ms()),
        )

    # ------------------------------------------------------------------ API

    def is_allowed(self, channel: str, account_id: str, sender_id: str) -> bool:
        entry = normalize_entry(channel, sender_id)
        if not entry:
            return False
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM channel_pairing_allow_entries WHERE channel_key=? AND account_id=? AND entry=?",
                (channel_key(channel), account_key(account_id), entry),
            ).fetchone()
        return row is not None

    def allow_entries(self, channel: str, account_id: str) -> list[str]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT entry FROM channel_pairing_allow_entries WHERE channel_key=? AND account_id=? ORDER BY sort_order, entry",
                (channel_key(channel), account_key(account_id)),
            ).fetchall()
        return [r[0] for r in rows]

    def add_allow_entry(self, channel: str, account_id: str, sender_id: str) -> None:
        with self._connect() as db, write_tx(db):
            self._add_allow(db, channel_key(channel), account_key(account_id), normalize_entry(channel, sender_id))

    def request(self, channel: str, account_id: str, sender_id: str, meta: dict[str, Any] | None = None) -> tuple[str | None, bool]:
        """The pairing code for this sender: (code, True) the first time (send the pairing reply then),
        (same code, False) on a repeat (last-seen bumped), (None, False) when the account already has
        3 pending requests."""
        sender = str(sender_id).strip()
        if not sender:
            raise PairingKeyError("invalid pairing sender: expected a non-empty id")
        ckey, account = channel_key(channel), account_key(account_id)
        now_ms = self._now_ms()
        now = iso_now(now_ms)
        meta_json = json.dumps({**_clean_meta(meta), "accountId": account}, separators=(",", ":"), ensure_ascii=False)
        with self._connect() as db, write_tx(db):
            live = self._prune(db, ckey, now_ms)
            mine = next((r for r in live if r["account_id"] == account and r["request_id"] == sender), None)
            if mine is not None:
                db.execute(
                    "UPDATE channel_pairing_requests SET last_seen_at=?, meta_json=? WHERE channel_key=? AND account_id=? AND request_id=?",
                    (now, meta_json, ckey, account, sender),
                )
                return mine["code"], False
            if sum(1 for r in live if r["account_id"] == account) >= PENDING_PER_ACCOUNT:
                return None, False
            code = new_code({(r["code"] or "").upper() for r in live})
            db.execute(
                "INSERT OR REPLACE INTO channel_pairing_requests"
                " (channel_key, account_id, request_id, code, created_at, last_seen_at, meta_json) VALUES (?,?,?,?,?,?,?)",
                (ckey, account, sender, code, now, now, meta_json),
            )
            return code, True

    def list_requests(self, channel: str | None = None, account_id: str | None = None) -> list[dict[str, Any]]:
        """Pending requests (expired ones pruned), oldest first. Each: upstream's JSON entry {id, code,
        createdAt, lastSeenAt, meta} plus channel, accountId, requestId and expiresAt."""
        now_ms = self._now_ms()
        wanted = account_key(account_id) if account_id and account_id.strip() else None
        out: list[dict[str, Any]] = []
        with self._connect() as db, write_tx(db):
            if channel is None:
                keys = [r[0] for r in db.execute("SELECT DISTINCT channel_key FROM channel_pairing_requests ORDER BY channel_key")]
            else:
                keys = [channel_key(channel)]
            for ckey in keys:
                for row in self._prune(db, ckey, now_ms):
                    if wanted is None or row["account_id"] == wanted:
                        out.append(self._entry(ckey, row))
        return out

    def _resolve(self, channel: str, account_id: str | None, matches: Callable[[dict[str, Any]], bool],
                 approve: bool) -> dict[str, Any] | None:
        ckey = channel_key(channel)
        wanted = account_key(account_id) if account_id and account_id.strip() else None
        now_ms = self._now_ms()
        with self._connect() as db, write_tx(db):
            for row in self._prune(db, ckey, now_ms):
                if wanted is not None and row["account_id"] != wanted:
                    continue
                entry = self._entry(ckey, row)
                if not matches(entry):
                    continue
                db.execute(
                    "DELETE FROM channel_pairing_requests WHERE channel_key=? AND account_id=? AND request_id=?",
                    (ckey, row["account_id"], row["request_id"]),
                )
                if approve:
                    self._add_allow(db, ckey, wanted or entry["accountId"], normalize_entry(channel, entry["id"]))
                return {"senderId": entry["id"], "accountId": wanted or entry["accountId"], "meta": entry["meta"],
                        "requestId": entry["requestId"], "code": entry["code"], "createdAt": entry["createdAt"]}
        return None

    def approve(self, channel: str, code: str, account_id: str | None = None) -> dict[str, Any] | None:
        """Approve the pending request with this code (case-insensitive): the sender becomes an allow
        entry of the request's account (or `account_id`). None when no live request has that code."""
        wanted = (code or "").strip().upper()
        if not wanted:
            return None
        return self._resolve(channel, account_id, lambda e: e["code"].upper() == wanted, approve=True)

    def approve_request(self, channel: str, account_id: str | None, request_id: str) -> dict[str, Any] | None:
        """Approve by the opaque request id (the RPC `channels.pairing.approve`)."""
        return self._resolve(channel, account_id, lambda e: e["requestId"] == request_id, approve=True)

    def dismiss(self, channel: str, account_id: str | None, request_id: str) -> dict[str, Any] | None:
        """Drop a pending request without admitting the sender (they may ask again)."""
        return self._resolve(channel, account_id, lambda e: e["requestId"] == request_id, approve=False)
