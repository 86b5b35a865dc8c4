"""The durable pairing store: paired devices, their role grants and device tokens, pending pairing
requests, and node records. SQLite in the state dir (`pairing.sqlite`, 0600), WAL, every change in
one transaction; device tokens are stored only as SHA-256 hashes.

Only the node worker opens this file; the front-end asks the worker (topic `device.authorize`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from openclaw.ipc.sqlite_tx import write_tx

SCHEMA_VERSION = 1
TOKENS_KEPT_PER_GRANT = 4  # a device may run a few clients; older tokens stop working
MAX_PENDING_REQUESTS = 256  # pending pairing requests kept (oldest dropped)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, display_name TEXT, platform TEXT,
    device_family TEXT, client_id TEXT, client_mode TEXT, version TEXT, remote_ip TEXT,
    created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, label TEXT, approved_via TEXT
);
CREATE TABLE IF NOT EXISTS grants (
    device_id TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE, role TEXT NOT NULL,
    scopes TEXT NOT NULL, approved_ms INTEGER NOT NULL, PRIMARY KEY (device_id, role)
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(device_id) ON DELETE CASCADE,
    role TEXT NOT NULL, scopes TEXT NOT NULL, issued_ms INTEGER NOT NULL, last_used_ms INTEGER
);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY, kind TEXT NOT NULL, device_id TEXT NOT NULL, role TEXT,
    body TEXT NOT NULL, created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY, body TEXT NOT NULL, caps TEXT NOT NULL, commands TEXT NOT NULL,
    approved_ms INTEGER, created_ms INTEGER NOT NULL, last_seen_ms INTEGER, last_seen_reason TEXT,
    last_connected_ms INTEGER
);
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, like upstream's device tokens


class PairingStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=2000")
        with self.tx():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_tx(self.db)

    # ------------------------------------------------------------------ devices

    def device(self, device_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM devices WHERE device_id=?", (device_id,)).fetchone()

    def devices(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM devices ORDER BY created_ms").fetchall()

    def grant(self, device_id: str, role: str) -> list[str] | None:
        row = self.db.execute("SELECT scopes FROM grants WHERE device_id=? AND role=?", (device_id, role)).fetchone()
        return None if row is None else json.loads(row["scopes"])

    def grants(self, device_id: str) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT role, scopes, approved_ms FROM grants WHERE device_id=?", (device_id,)).fetchall()
        return {r["role"]: {"scopes": json.loads(r["scopes"]), "approvedAtMs": r["approved_ms"]} for r in rows}

    def pair(self, device: dict[str, Any], role: str, scopes: list[str], via: str | None = None) -> None:
        """Record (or widen) a device's grant for `role`."""
        t = now_ms()
        with self.tx() as db:
            db.execute(
                "INSERT INTO devices (device_id, public_key, display_name, platform, device_family, client_id, client_mode,"
                " version, remote_ip, created_ms, last_seen_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(device_id) DO UPDATE SET display_name=excluded.display_name, platform=excluded.platform,"
                " device_family=excluded.device_family, client_id=excluded.client_id, client_mode=excluded.client_mode,"
                " version=excluded.version, remote_ip=excluded.remote_ip, last_seen_ms=excluded.last_seen_ms",
                (device["deviceId"], device["publicKey"], device.get("displayName"), device.get("platform"),
                 device.get("deviceFamily"), device.get("clientId"), device.get("clientMode"), device.get("version"),
                 device.get("remoteIp"), t, t),
            )
            db.execute(
                "INSERT INTO grants (device_id, role, scopes, approved_ms) VALUES (?,?,?,?)"
                " ON CONFLICT(device_id, role) DO UPDATE SET scopes=excluded.scopes, approved_ms=excluded.approved_ms",
                (device["deviceId"], role, json.dumps(sorted(set(scopes))), t),
            )
            if via is not None:
                db.execute("UPDATE devices SET approved_via=? WHERE device_id=?", (via, device["deviceId"]))

    def remove_device(self, device_id: str) -> bool:
        with self.tx() as db:
            db.execute("DELETE FROM requests WHERE device_id=?", (device_id,))
            db.execute("DELETE FROM nodes WHERE node_id=?", (device_id,))
            return db.execute("DELETE FROM devices WHERE device_id=?", (device_id,)).rowcount > 0

    # ------------------------------------------------------------------ device tokens

    def issue_token(self, device_id: str, role: str, scopes: list[str]) -> tuple[str, int]:
        token, t = new_token(), now_ms()
        with self.tx() as db:
            db.execute("INSERT INTO tokens (token_hash, device_id, role, scopes, issued_ms) VALUES (?,?,?,?,?)",
                       (token_hash(token), device_id, role, json.dumps(sorted(set(scopes))), t))
            db.execute(
                "DELETE FROM tokens WHERE device_id=? AND role=? AND token_hash NOT IN"
                " (SELECT token_hash FROM tokens WHERE device_id=? AND role=? ORDER BY issued_ms DESC, rowid DESC LIMIT ?)",
                (device_id, role, device_id, role, TOKENS_KEPT_PER_GRANT),
            )
        return token, t

    def token(self, token: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM tokens WHERE token_hash=?", (token_hash(token),)).fetchone()

    def token_used(self, token: str, device_id: str) -> None:
        with self.tx() as db:
            t = now_ms()
            db.execute("UPDATE tokens SET last_used_ms=? WHERE token_hash=?", (t, token_hash(token)))
            db.execute("UPDATE devices SET last_seen_ms=? WHERE device_id=?", (t, device_id))

    def revoke_tokens(self, device_id: str, role: str | None = None) -> int:
        with self.tx() as db:
            if role is None:
                return db.execute("DELETE FROM tokens WHERE device_id=?", (device_id,)).rowcount
            return db.execute("DELETE FROM tokens WHERE device_id=? AND role=?", (device_id, role)).rowcount

    def tokens_of(self, device_id: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT role, scopes, issued_ms, last_used_ms FROM tokens WHERE device_id=? ORDER BY issued_ms",
                               (device_id,)).fetchall()

    def label_device(self, device_id: str, label: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE devices SET label=? WHERE device_id=?", (label, device_id))

    # ------------------------------------------------------------------ pairing requests

    def add_request(self, request_id: str, kind: str, device_id: str, role: str | None, body: dict[str, Any]) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO requests (request_id, kind, device_id, role, body, created_ms) VALUES (?,?,?,?,?,?)",
                       (request_id, kind, device_id, role, json.dumps(body), now_ms()))
            db.execute(
                "DELETE FROM requests WHERE request_id NOT IN (SELECT request_id FROM requests ORDER BY created_ms DESC, rowid DESC LIMIT ?)",
                (MAX_PENDING_REQUESTS,),
            )

    def request(self, request_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM requests WHERE request_id=?", (request_id,)).fetchone()

    def requests(self, kind: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM requests WHERE kind=? ORDER BY created_ms", (kind,)).fetchall()

    def pending_for(self, kind: str, device_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM requests WHERE kind=? AND device_id=? ORDER BY created_ms DESC LIMIT 1",
                               (kind, device_id)).fetchone()

    def drop_request(self, request_id: str) -> bool:
        with self.tx() as db:
            return db.execute("DELETE FROM requests WHERE request_id=?", (request_id,)).rowcount > 0

    # ------------------------------------------------------------------ nodes

    def node(self, node_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM nodes WHERE node_id=?", (node_id,)).fetchone()

    def nodes(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM nodes ORDER BY created_ms").fetchall()

    def upsert_node(self, node_id: str, body: dict[str, Any], *, connected: bool, reason: str) -> None:
        t = now_ms()
        with self.tx() as db:
            db.execute(
                "INSERT INTO nodes (node_id, body, caps, commands, created_ms, last_seen_ms, last_seen_reason, last_connected_ms)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(node_id) DO UPDATE SET body=excluded.body,"
                " last_seen_ms=excluded.last_seen_ms, last_seen_reason=excluded.last_seen_reason,"
                " last_connected_ms=COALESCE(excluded.last_connected_ms, nodes.last_connected_ms)",
                (node_id, json.dumps(body), "[]", "[]", t, t, reason, t if connected else None),
            )

    def approve_node(self, node_id: str, caps: list[str], commands: list[str], request_id: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE nodes SET caps=?, commands=?, approved_ms=? WHERE node_id=?",
                       (json.dumps(sorted(set(caps))), json.dumps(sorted(set(commands))), now_ms(), node_id))
            db.execute("DELETE FROM requests WHERE request_id=?", (request_id,))

    def node_seen(self, node_id: str, reason: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE nodes SET last_seen_ms=?, last_seen_reason=? WHERE node_id=?", (now_ms(), reason, node_id))

    def rename_node(self, node_id: str, display_name: str) -> bool:
        row = self.node(node_id)
        if row is None:
            return False
        body = json.loads(row["body"])
        body["displayName"] = display_name
        with self.tx() as db:
            db.execute("UPDATE nodes SET body=? WHERE node_id=?", (json.dumps(body), node_id))
            db.execute("UPDATE devices SET display_name=? WHERE device_id=?", (display_name, node_id))
        return True
