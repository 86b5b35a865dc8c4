"""Reading a transcript: the active messages (after the last reset or compaction cut), the model's
context for the next turn, and the `chat.history` result (newest page first, text cut per message)."""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import TYPE_CHECKING, Any

from ..providers.base import AssistantMessage, Message, ToolResultMessage
from .messages import to_model_message

if TYPE_CHECKING:
    from .session_store import SessionStore

MAX_MESSAGE_CHARS = 8000
DEFAULT_HISTORY_LIMIT = 200
TRUNCATED_MARK = "\n…(truncated)"


def events(db: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    out = []
    for seq, text in db.execute(
        "SELECT seq, event_json FROM transcript_events WHERE session_id=? AND event_json IS NOT NULL ORDER BY seq",
        (session_id,),
    ):
        try:
            ev = json.loads(text)
        except ValueError:
            continue
        if isinstance(ev, dict):
            ev["__seq"] = seq
            out.append(ev)
    return out


def active_messages(db: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    """Message entries after the last reset (with a Reset note first) or from a compaction's first kept entry."""
    evs = events(db, session_id)
    msgs: list[dict[str, Any]] = []
    for ev in evs:
        t = ev.get("type")
        if t == "reset":
            msgs = [{"id": ev.get("id"), "seq": ev["__seq"], "timestamp": ev.get("timestamp"), "message": {
                "role": "system", "content": [{"type": "text", "text": "Reset"}],
                "__openclaw": {"kind": "reset", "reason": ev.get("reason", "reset")}}}]
        elif t == "compaction":
            keep = ev.get("firstKeptEntryId")
            idx = next((i for i, m in enumerate(msgs) if m["id"] == keep), len(msgs))
            msgs = msgs[idx:]
        elif t == "message" and isinstance(ev.get("message"), dict):
            msgs.append({"id": ev.get("id"), "seq": ev["__seq"], "timestamp": ev.get("timestamp"), "message": ev["message"]})
    return msgs


def model_messages(msgs: list[dict[str, Any]], max_messages: int) -> list[Message]:
    out = [m for m in (to_model_message(x["message"]) for x in msgs) if m is not None]
    out = out[-max_messages:] if max_messages > 0 else []
    # never start with a tool result, or an assistant turn whose tool calls' results were cut off
    while out and (isinstance(out[0], ToolResultMessage) or (isinstance(out[0], AssistantMessage) and out[0].tool_calls)):
        out.pop(0)
    return out


def _cut(message: dict[str, Any], max_chars: int) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str) and len(content) > max_chars:
        return {**message, "content": content[:max_chars] + TRUNCATED_MARK}
    if isinstance(content, list):
        blocks = []
        for b in content:
            if isinstance(b, dict) and isinstance(b.get("text"), str) and len(b["text"]) > max_chars:
                b = {**b, "text": b["text"][:max_chars] + TRUNCATED_MARK}
            blocks.append(b)
        return {**message, "content": blocks}
    return message


def history_message(m: dict[str, Any], position: int, max_chars: int) -> dict[str, Any]:
    """A transcript message as chat.history shows it: text cut, `__openclaw` carrying id/seq/position."""
    msg = _cut(m["message"], max_chars)
    meta = dict(msg.get("__openclaw") or {})
    meta.update(id=m["id"], seq=position, transcriptPosition={"source": "sqlite", "rawSeq": m["seq"]})
    if isinstance(msg.get("idempotencyKey"), str):
        meta["idempotencyKey"] = msg["idempotencyKey"]
    if isinstance(msg.get("timestamp"), int):
        meta["recordTimestampMs"] = msg["timestamp"]
    return {**msg, "__openclaw": meta}


def delta_cursor(agent_id: str, session_id: str, generation: str, last_seq: int) -> str:
    raw = json.dumps({"agentId": agent_id, "generation": generation, "lastSeq": last_seq, "sessionId": session_id,
                      "version": 1}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def chat_history(store: SessionStore, key: str, *, limit: int | None, offset: int, max_chars: int) -> dict[str, Any]:
    """`chat.history`: the newest `limit` messages skipping `offset` from the newest, oldest first."""
    defaults = store_defaults(store)
    node = store.node(key)
    if node is None:
        return {"sessionKey": key, "sessionId": None, "messages": [], "pendingInputs": {"items": [], "total": 0},
                "hasMore": False, "totalMessages": 0, "defaults": defaults}
    sid = node["current_session_id"]
    msgs = active_messages(store.db, sid)
    total = len(msgs)
    limit = DEFAULT_HISTORY_LIMIT if limit is None else limit
    end = max(0, total - offset)
    start = max(0, end - limit)
    page = [history_message(m, i + 1, max_chars) for i, m in enumerate(msgs) if start <= i < end]
    entry = json.loads(node["entry_json"])
    last_seq = store.db.execute("SELECT max(seq) FROM transcript_events WHERE session_id=?", (sid,)).fetchone()[0]
    result: dict[str, Any] = {
        "sessionKey": key, "sessionId": sid, "messages": page, "pendingInputs": {"items": [], "total": 0},
        "deltaCursor": delta_cursor(store.agent_id, sid, str(entry.get("lifecycleRevision", "")), last_seq or 0),
        "hasMore": start > 0, "totalMessages": total, "defaults": defaults,
    }
    if start > 0:
        result["nextOffset"] = offset + len(page)
    from .rows import session_row

    result["sessionInfo"] = session_row(store, node)
    if page:
        result["sessionInfo"]["activeLeafEntryId"] = msgs[-1]["id"]
    if entry.get("status") == "running":
        result["inFlightRun"] = {"runId": entry.get("activeWriterRunId"), "startedAt": entry.get("startedAt"),
                                 "status": "running"}
    return result


def store_defaults(store: SessionStore) -> dict[str, Any]:
    from .rows import defaults

    return defaults(store)
