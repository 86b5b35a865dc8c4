"""`chat.history`: a page of a session's visible messages with its Row and in-flight run."""

from __future__ import annotations

import json
from typing import Any

from .history import (
    DEFAULT_HISTORY_LIMIT,
    active_messages,
    delta_cursor,
    history_message,
)
from .rows import defaults as store_defaults
from .rows import session_row
from .view import StoreView


def chat_history(store: StoreView, key: str, *, limit: int | None, offset: int, max_chars: int) -> dict[str, Any]:
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
    result["sessionInfo"] = session_row(store, node)
    if page:
        result["sessionInfo"]["activeLeafEntryId"] = msgs[-1]["id"]
    if entry.get("status") == "running":
        result["inFlightRun"] = {"runId": entry.get("activeWriterRunId"), "startedAt": entry.get("startedAt"),
                                 "status": "running"}
    return result
