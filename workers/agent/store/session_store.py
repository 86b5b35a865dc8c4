"""One agent's sessions: the writes a run makes, each one SQLite transaction (all or nothing).

A session is a `session_nodes` row (its `entry_json` is the entry sessions.* return), a
`session_windows` row per sessionId, and `transcript_events` (one pi-style entry per row, seq 0..).
Every write ends by certifying the row (`entry_valid=1`, which upstream's triggers reset to 0) and
keeps `entry.updatedAt == updated_at`, `entry.sessionId == current_session_id`: the conditions
upstream's `openclaw sessions` reader checks. WAL + one transaction per write: a process killed
between writes leaves the last committed state, which both readers accept.

Run life cycle of a session (entry.status / session_nodes.status):

    (none) --ensure--> (no status) --begin_run--> running --finish_run--> done | failed | killed | timeout
    running --recover_interrupted (next worker start)--> failed, abortedLastRun, "openclaw:run-interrupted"
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openclaw.ipc.agent_db.schema import db_path, open_db
from openclaw.ipc.sqlite_tx import write_tx

from ..providers.base import Message, ModelRef
from . import chat_view, history, rows
from .messages import now_ms, system_note, usage_block, user_message

HARNESS_ID = "openclaw"
DEFAULT_CONTEXT_TOKENS = 200_000
FINAL_STATUSES = ("done", "failed", "killed", "timeout")
INTERRUPTED_REASON = "gateway stopped or crashed mid-run"
_OBSERVATION = json.dumps({"type": "observation", "pluginId": None, "accountId": None, "senderKind": "unknown"},
                          separators=(",", ":"))
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SessionStore:
    def __init__(self, state_dir: str | Path, agent_id: str) -> None:
        self.agent_id = agent_id
        self.path = db_path(state_dir, agent_id)
        self.workspace = str(Path(state_dir) / "workspace")
        self.db = open_db(self.path, agent_id)
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ plumbing

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_tx(self.db)

    def node(self, key: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM session_nodes WHERE session_key=?", (key,)).fetchone()

    def entry(self, key: str) -> dict[str, Any] | None:
        row = self.node(key)
        return json.loads(row["entry_json"]) if row else None

    def _put_entry(self, key: str, entry: dict[str, Any], now: int) -> dict[str, Any]:
        """Write the entry and its promoted columns, then certify the row (inside a transaction)."""
        entry["updatedAt"] = now
        status = entry.get("status") if entry.get("status") in ("running", *FINAL_STATUSES) else None
        self.db.execute(
            "UPDATE session_nodes SET current_session_id=?, entry_json=?, updated_at=?, status=?, label=?, display_name=?,"
            " last_interaction_at=?, last_activity_at=?, parent_session_key=?, pinned_at=?, archived_at=?, last_read_at=?,"
            " category=?, icon=? WHERE session_key=?",
            (entry["sessionId"], _dumps(entry), now, status, entry.get("label"), entry.get("displayName"),
             entry.get("lastInteractionAt"), entry.get("lastActivityAt"), entry.get("parentSessionKey"),
             entry.get("pinnedAt"), entry.get("archivedAt"), entry.get("lastReadAt"), entry.get("category"),
             entry.get("icon"), key),
        )
        self.db.execute("UPDATE session_nodes SET entry_valid=1 WHERE session_key=?", (key,))
        self.db.execute(
            "UPDATE session_windows SET updated_at=?, status=?, model_provider=?, model=?, started_at=?, ended_at=?"
            " WHERE session_id=?",
            (now, status, entry.get("modelProvider"), entry.get("model"), entry.get("startedAt"), entry.get("endedAt"),
             entry["sessionId"]),
        )
        return entry

    def _leaf(self, session_id: str) -> tuple[int, str | None]:
        row = self.db.execute(
            "SELECT seq, event_id FROM transcript_event_identities WHERE session_id=? ORDER BY seq DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        if row is None:
            last = self.db.execute("SELECT max(seq) FROM transcript_events WHERE session_id=?", (session_id,)).fetchone()[0]
            return (-1 if last is None else last), None
        return row["seq"], row["event_id"]

    def _append_event(self, session_id: str, event: dict[str, Any], now: int, *, idem: str | None = None) -> int:
        """Append one transcript entry (id/parentId/timestamp filled in); returns its seq."""
        last_seq, parent = self._leaf(session_id)
        seq = last_seq + 1
        event.setdefault("id", str(uuid.uuid4()))
        if event.get("type") != "session":
            event.setdefault("parentId", parent)
        event.setdefault("timestamp", iso(now))
        text = _dumps(event)
        self.db.execute(
            "INSERT INTO transcript_events(session_id, seq, event_json, created_at, event_utf8_bytes) VALUES (?,?,?,?,?)",
            (session_id, seq, text, now, len(text.encode("utf-8"))),
        )
        if idem is not None and self.db.execute(
            "SELECT 1 FROM transcript_event_identities WHERE session_id=? AND message_idempotency_key=?", (session_id, idem)
        ).fetchone():
            idem = None  # the same key again (a replay after the dedupe window): keep the event, not the index
        self.db.execute(
            "INSERT INTO transcript_event_identities(session_id, event_id, seq, event_type, parent_id,"
            " message_idempotency_key, created_at) VALUES (?,?,?,?,?,?,?)",
            (session_id, event["id"], seq, event.get("type"), event.get("parentId"), idem, now),
        )
        self.db.execute(
            "UPDATE session_windows SET transcript_updated_at=? WHERE session_id=?", (now, session_id)
        )
        return seq

    # ------------------------------------------------------------------ the run API (C, D)

    def ensure(self, key: str, *, created_via: str = "run", client_id: str = "cli", session_id: str | None = None,
               label: str | None = None, parent_session_key: str | None = None) -> dict[str, Any]:
        """The session's entry, creating node + window + transcript header when it does not exist yet."""
        with self.tx():
            return self._ensure(key, created_via, client_id, session_id, label, parent_session_key)

    def _ensure(self, key: str, created_via: str, client_id: str, session_id: str | None = None,
                label: str | None = None, parent_session_key: str | None = None) -> dict[str, Any]:
        existing = self.entry(key)
        if existing is not None:
            return existing
        now = now_ms()
        sid = session_id or str(uuid.uuid4())
        entry: dict[str, Any] = {
            "sessionId": sid, "updatedAt": now, "sessionStartedAt": now, "delivery": {"kind": "none"},
            "createdVia": created_via, "createdAt": now, "agentHarnessId": HARNESS_ID,
            "lifecycleRevision": str(uuid.uuid4()),
        }
        if label:
            entry["label"] = label
        if parent_session_key:
            entry["parentSessionKey"] = parent_session_key
            entry["spawnDepth"] = 0
        self.db.execute(
            "INSERT INTO session_nodes(session_key, current_session_id, entry_json, updated_at, created_at, created_via)"
            " VALUES (?,?,?,?,?,?)", (key, sid, _dumps(entry), now, now, created_via),
        )
        self.db.execute(
            "INSERT INTO session_windows(session_id, session_key, reason, created_at, updated_at, session_entry_provenance,"
            " agent_harness_id) VALUES (?,?,'initial',?,?,1,?)", (sid, key, now, now, HARNESS_ID),
        )
        if client_id:
            self.db.execute(
                "INSERT OR IGNORE INTO session_participants(session_key, identity_namespace, actor_id, contribution_count)"
                " VALUES (?,?,?,0)", (key, _OBSERVATION, client_id),
            )
        self._append_event(sid, {"type": "session", "version": 4, "id": sid, "cwd": self.workspace}, now)
        return self._put_entry(key, entry, now)

    def begin_run(self, key: str, run_id: str, *, model: ModelRef, user_text: str, client_id: str,
                  idempotency_key: str, context_tokens: int | None = None, created_via: str = "run",
                  session_id: str | None = None, api: str = "") -> dict[str, Any]:
        """Mark the session running and append the user's message; returns the entry."""
        with self.tx():
            entry = self._ensure(key, created_via, client_id, session_id)
            now = now_ms()
            sid = entry["sessionId"]
            if (entry.get("modelProvider"), entry.get("model")) != (model.provider, model.model):
                self._append_event(sid, {"type": "model_change", "provider": model.provider, "modelId": model.model}, now)
                self._append_event(sid, {"type": "thinking_level_change", "thinkingLevel": entry.get("thinkingLevel") or "off"}, now)
                self._append_event(sid, {"type": "custom", "customType": "model-snapshot", "data": {
                    "timestamp": now, "provider": model.provider, "modelApi": api or model.provider, "modelId": model.model}}, now)
            self._append_event(sid, {"type": "message", "message": user_message(user_text, idempotency_key, timestamp=now)},
                               now, idem=f"{idempotency_key}:user")
            entry.pop("endedAt", None)
            entry.pop("runtimeMs", None)
            entry.update(
                status="running", startedAt=now, activeWriterRunId=run_id, lastInteractionAt=now, lastActivityAt=now,
                model=model.model, modelProvider=model.provider, agentHarnessId=HARNESS_ID,
                contextTokens=context_tokens or entry.get("contextTokens") or DEFAULT_CONTEXT_TOKENS,
                contextTokensSource="resolved",
            )
            if client_id:
                self.db.execute(
                    "INSERT INTO session_participants(session_key, identity_namespace, actor_id, contribution_count,"
                    " first_prompted_at, last_prompted_at) VALUES (?,?,?,1,?,?) ON CONFLICT DO UPDATE SET"
                    " contribution_count=contribution_count+1, last_prompted_at=excluded.last_prompted_at,"
                    " first_prompted_at=coalesce(first_prompted_at, excluded.first_prompted_at)",
                    (key, _OBSERVATION, client_id, now, now),
                )
            return self._put_entry(key, entry, now)

    def append_message(self, key: str, message: dict[str, Any]) -> int:
        """Append an assistant/toolResult/system message (messages.py builds them); returns its transcript seq."""
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise TypeError("a transcript message is a dict with a 'role'")
        with self.tx():
            entry = self.entry(key)
            if entry is None:
                raise KeyError(key)
            now = now_ms()
            seq = self._append_event(entry["sessionId"], {"type": "message", "message": message}, now)
            entry["lastActivityAt"] = now
            self._put_entry(key, entry, now)
            return seq

    def append_custom(self, key: str, custom_type: str, data: dict[str, Any]) -> int:
        """A `{"type":"custom"}` transcript entry (bootstrap markers, run markers)."""
        with self.tx():
            entry = self.entry(key)
            if entry is None:
                raise KeyError(key)
            return self._append_event(entry["sessionId"], {"type": "custom", "customType": custom_type, "data": data}, now_ms())

    def finish_run(self, key: str, run_id: str, *, status: str, usage: dict[str, Any] | None, model: ModelRef,
                   response_model: str = "", aborted: bool = False, stop_reason: str = "stop",
                   error: str | None = None) -> dict[str, Any]:
        """Record how the run ended: status, tokens, endedAt, runtimeMs, lastRunId, abortedLastRun."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"finish_run status must be one of {FINAL_STATUSES}, not {status!r}")
        with self.tx():
            entry = self.entry(key)
            if entry is None:
                raise KeyError(key)
            now = now_ms()
            u = usage_block(usage)
            entry.update(
                lastRunId=run_id, abortedLastRun=bool(aborted), lastActivityAt=now, lastStopReason=stop_reason,
                model=model.model, modelProvider=model.provider,
                inputTokens=u["input"], outputTokens=u["output"], cacheRead=u["cacheRead"], cacheWrite=u["cacheWrite"],
                totalTokens=u["input"] + u["cacheRead"] + u["cacheWrite"], totalTokensFresh=True, totalTokensVersion=1,
            )
            if response_model:
                entry["responseModel"] = response_model
            if error:
                entry["lastError"] = error
            else:
                entry.pop("lastError", None)
            if entry.get("activeWriterRunId") in (run_id, None) or entry.get("status") != "running":
                started = entry.get("startedAt") or now
                entry.update(status=status, endedAt=now, runtimeMs=max(0, now - started))
            return self._put_entry(key, entry, now)

    def model_history(self, key: str, *, max_messages: int = 200) -> list[Message]:
        """The model context for the next turn: messages since the last reset/compaction boundary."""
        node = self.node(key)
        if node is None:
            return []
        return history.model_messages(history.active_messages(self.db, node["current_session_id"]), max_messages)

    def recover_interrupted(self) -> list[str]:
        """Sessions left `running` by a stopped or crashed worker: mark each failed, say so in the transcript."""
        keys = [r[0] for r in self.db.execute("SELECT session_key FROM session_nodes WHERE status='running'")]
        for key in keys:
            with self.tx():
                entry = self.entry(key)
                if entry is None or entry.get("status") != "running":
                    continue
                now = now_ms()
                run_id = entry.get("activeWriterRunId")
                sid = entry["sessionId"]
                self._append_event(sid, {"type": "custom", "customType": "openclaw:run-interrupted",
                                         "data": {"runId": run_id, "reason": INTERRUPTED_REASON}}, now)
                self._append_event(sid, {"type": "message", "message": system_note(
                    f"Run {run_id} was interrupted: {INTERRUPTED_REASON}.", "run-interrupted", runId=run_id)}, now)
                started = entry.get("startedAt") or now
                entry.update(status="failed", abortedLastRun=True, endedAt=now, runtimeMs=max(0, now - started),
                             lastRunId=run_id, lastError=INTERRUPTED_REASON, lastActivityAt=now)
                self._put_entry(key, entry, now)
        return keys

    # ------------------------------------------------------------------ views and operator edits (sessions.*)

    def all_nodes(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM session_nodes WHERE entry_valid=1 ORDER BY updated_at DESC").fetchall()

    def participants(self, key: str) -> list[dict[str, Any]]:
        return rows.participants(self.db, key)

    def row(self, key: str, **kw: Any) -> dict[str, Any] | None:
        node = self.node(key)
        return rows.session_row(self, node, **kw) if node else None

    def transcript(self, key: str) -> list[dict[str, Any]]:
        """Every transcript entry of the session's current window, in order."""
        node = self.node(key)
        if node is None:
            return []
        return history.events(self.db, node["current_session_id"])

    def chat_history(self, key: str, *, limit: int | None = None, offset: int = 0,
                     max_chars: int = history.MAX_MESSAGE_CHARS) -> dict[str, Any]:
        return chat_view.chat_history(self, key, limit=limit, offset=offset, max_chars=max_chars)

    def list(self, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return rows.list_sessions(self, params, **kw)

    def health_summary(self) -> dict[str, Any]:
        nodes = self.all_nodes()
        return {"path": str(self.path), "count": len(nodes),
                "recent": [{"key": n["session_key"], "updatedAt": n["updated_at"]} for n in nodes[:5]]}

    def patch_entry(self, key: str, changes: dict[str, Any], *, created_via: str = "operator",
                    client_id: str = "") -> tuple[dict[str, Any], bool]:
        """Apply entry changes (None removes a field); creates the session when missing. Returns (entry, created)."""
        with self.tx():
            created = self.node(key) is None
            entry = self._ensure(key, created_via, client_id)
            for k, v in changes.items():
                if v is None:
                    entry.pop(k, None)
                else:
                    entry[k] = v
            return self._put_entry(key, entry, now_ms()), created

    def reset(self, key: str, *, reason: str = "reset", client_id: str = "") -> dict[str, Any]:
        """Start the conversation over: a `reset` transcript entry, counters cleared, a new lifecycleRevision."""
        with self.tx():
            entry = self._ensure(key, "operator", client_id)
            now = now_ms()
            self._append_event(entry["sessionId"], {"type": "reset", "reason": reason}, now)
            for k in ("inputTokens", "outputTokens", "cacheRead", "cacheWrite", "totalTokens", "abortedLastRun",
                      "lastError", "compactionCount"):
                entry.pop(k, None)
            entry.update(systemSent=False, inputTokens=0, outputTokens=0, totalTokens=0, totalTokensFresh=True,
                         totalTokensVersion=1, lifecycleRevision=str(uuid.uuid4()), lastActivityAt=now)
            return self._put_entry(key, entry, now)

    def compact(self, key: str, keep_messages: int) -> tuple[bool, str | None]:
        """Keep only the newest `keep_messages` messages as context (a `compaction` entry marks the cut)."""
        with self.tx():
            node = self.node(key)
            if node is None:
                return False, "session not found"
            sid = node["current_session_id"]
            msgs = history.active_messages(self.db, sid)
            if len(msgs) <= keep_messages:
                return False, f"nothing to compact ({len(msgs)} messages)"
            first_kept = msgs[-keep_messages]["id"] if keep_messages else None
            self._append_event(sid, {"type": "compaction", "summary": "", "firstKeptEntryId": first_kept,
                                     "tokensBefore": json.loads(node["entry_json"]).get("totalTokens", 0)}, now_ms())
            entry = json.loads(node["entry_json"])
            entry["compactionCount"] = int(entry.get("compactionCount") or 0) + 1
            self._put_entry(key, entry, now_ms())
            return True, None

    def delete(self, key: str) -> dict[str, Any] | None:
        """Remove the session (node, windows, transcript cascade); returns its transcript events for archiving."""
        with self.tx():
            node = self.node(key)
            if node is None:
                return None
            sids = [r[0] for r in self.db.execute("SELECT session_id FROM session_windows WHERE session_key=?", (key,))]
            events = {sid: history.events(self.db, sid) for sid in sids}
            for sid in sids:
                self.db.execute("DELETE FROM transcript_events WHERE session_id=?", (sid,))
            self.db.execute("DELETE FROM session_nodes WHERE session_key=?", (key,))
            self.db.execute("DELETE FROM session_canonical_validation_pending WHERE session_key=?", (key,))
            return {"sessionId": node["current_session_id"], "events": events}
