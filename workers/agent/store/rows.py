"""Projections of a session row: the `sessions.list` Row (gateway RPC) and the `openclaw sessions` row
(upstream CLI JSON), plus the list query itself (filters, sort, paging)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from .history import active_messages
from .messages import message_text

if TYPE_CHECKING:
    from .session_store import SessionStore

DEFAULT_LIMIT = 100
THINKING_LEVELS = [{"id": "off", "label": "off"}]
AGENT_RUNTIME = {"id": "openclaw", "source": "session"}
IMPLICIT_RUNTIME = {"id": "auto", "source": "implicit"}


def participants(db: sqlite3.Connection, key: str) -> list[dict[str, Any]]:
    out = []
    for ns, actor in db.execute(
        "SELECT identity_namespace, actor_id FROM session_participants WHERE session_key=? ORDER BY rowid", (key,)
    ):
        try:
            ident = json.loads(ns)
        except ValueError:
            continue
        out.append({"identity": {**ident, "id": actor}})
    return out


def kind_of(key: str) -> str:
    return "group" if ":group:" in key or ":channel:" in key else "direct"


def classification(key: str, agent_id: str, main: str = "main") -> str:
    rest = key.split(":", 2)[2] if key.count(":") >= 2 else key
    if rest == main:
        return "main"
    head = rest.split(":", 1)[0]
    return head if head in ("explicit", "dashboard") else "custom"


def defaults(store: SessionStore) -> dict[str, Any]:
    latest = store.db.execute(
        "SELECT entry_json FROM session_nodes WHERE entry_valid=1 ORDER BY updated_at DESC LIMIT 1").fetchone()
    e = json.loads(latest[0]) if latest else {}
    return {"modelProvider": e.get("modelProvider"), "model": e.get("model"),
            "contextTokens": e.get("contextTokens"), "agentRuntime": AGENT_RUNTIME,
            "thinkingLevels": THINKING_LEVELS, "thinkingOptions": ["off"], "thinkingDefault": "off",
            "modelSelectionTarget": "session"}


def session_row(store: SessionStore, node: sqlite3.Row, *, include_last_message: bool = False,
                active_run_ids: list[str] | None = None) -> dict[str, Any]:
    """The sessions.list Row (spec §2.7) of one node."""
    key = node["session_key"]
    e = json.loads(node["entry_json"])
    parts = participants(store.db, key)
    cls = classification(key, store.agent_id)
    running = e.get("status") == "running"
    active = active_run_ids if active_run_ids is not None else ([e["activeWriterRunId"]] if running and e.get("activeWriterRunId") else [])
    row: dict[str, Any] = {
        "key": key, "visibility": "shared", "permissionModePending": False, "createdVia": e.get("createdVia"),
        "participants": parts, "participantCount": len(parts), "createdAt": e.get("createdAt"), "kind": kind_of(key),
        "classification": cls, "agentId": store.agent_id, "isMain": cls == "main", "isBackground": False,
        "chatType": "group" if kind_of(key) == "group" else "direct", "updatedAt": e.get("updatedAt"),
        "archived": bool(e.get("archivedAt")), "pinned": bool(e.get("pinnedAt")), "unread": bool(e.get("unread", False)),
        "lastInteractionAt": e.get("lastInteractionAt"), "lastActivityAt": e.get("lastActivityAt"),
        "sessionId": e.get("sessionId"), "systemSent": bool(e.get("systemSent", False)),
        "abortedLastRun": bool(e.get("abortedLastRun", False)),
        "thinkingLevels": THINKING_LEVELS, "thinkingOptions": ["off"], "thinkingDefault": "off",
        "effectiveFastMode": bool(e.get("fastMode", False)),
        "inputTokens": e.get("inputTokens"), "outputTokens": e.get("outputTokens"), "totalTokens": e.get("totalTokens"),
        "totalTokensFresh": e.get("totalTokensVersion") == 1 and bool(e.get("totalTokensFresh")),
        "status": e.get("status"), "startedAt": e.get("startedAt"), "endedAt": e.get("endedAt"),
        "runtimeMs": e.get("runtimeMs"), "lastRunId": e.get("lastRunId"), "effectiveQueueMode": "steer",
        "modelProvider": e.get("modelOverrideProvider") or e.get("modelProvider"),
        "model": e.get("modelOverride") or e.get("model"),
        "modelOverrideSource": "session" if e.get("modelOverride") else None,
        "agentRuntime": AGENT_RUNTIME if e.get("agentHarnessId") == "openclaw" else IMPLICIT_RUNTIME,
        "contextTokens": e.get("contextTokens"), "contextBudgetStatus": e.get("contextBudgetStatus"),
        "snapshotAt": int(time.time() * 1000), "hasActiveRun": bool(active), "activeRunIds": active,
        "sharingRole": "admin", "lifecycleRevision": e.get("lifecycleRevision"),
    }
    for k in ("label", "displayName", "parentSessionKey", "spawnDepth", "thinkingLevel", "category", "icon", "color",
              "lastError"):
        if e.get(k) is not None:
            row[k] = e[k]
    if include_last_message:
        msgs = active_messages(store.db, node["current_session_id"])
        last = next((m["message"] for m in reversed(msgs) if m["message"].get("role") in ("user", "assistant")), None)
        if last is not None:
            row["lastMessagePreview"] = message_text(last)[:200]
    return row


def cli_row(agent_id: str, node: sqlite3.Row, parts: list[dict[str, Any]], now: int,
            config_context_tokens: int | None = None) -> dict[str, Any]:
    """The `openclaw sessions --json` row, as the upstream CLI prints it."""
    e = json.loads(node["entry_json"])
    row: dict[str, Any] = {"key": node["session_key"], "updatedAt": e.get("updatedAt"),
                           "ageMs": max(0, now - int(e.get("updatedAt") or now)), "sessionId": e.get("sessionId")}
    for k in ("sessionStartedAt", "lastInteractionAt", "status", "label"):
        if e.get(k) is not None:
            row[k] = e[k]
    row["visibility"] = "shared"
    if parts:
        row["participants"] = parts
        row["participantCount"] = len(parts)
    for k in ("systemSent", "abortedLastRun", "inputTokens", "outputTokens"):
        if e.get(k) is not None:
            row[k] = e[k]
    fresh = e.get("totalTokensVersion") == 1 and bool(e.get("totalTokensFresh"))
    row["totalTokens"] = e.get("totalTokens") if isinstance(e.get("totalTokens"), int) else None
    row["totalTokensFresh"] = fresh and row["totalTokens"] is not None
    if e.get("totalTokensVersion") is not None:
        row["totalTokensVersion"] = e["totalTokensVersion"]
    row["model"] = e.get("modelOverride") or e.get("model")
    row["modelProvider"] = e.get("modelOverrideProvider") or e.get("modelProvider")
    row["contextTokens"] = e.get("contextTokens") or config_context_tokens or 200_000
    row["agentId"] = agent_id
    row["acpRuntime"] = False
    row["agentRuntime"] = AGENT_RUNTIME if e.get("agentHarnessId") == "openclaw" else IMPLICIT_RUNTIME
    row["kind"] = kind_of(node["session_key"])
    for k in ("parentSessionKey", "spawnDepth"):
        if e.get(k) is not None:
            row[k] = e[k]
    return row


_SORT = {"updatedAt": "updatedAt", "lastInteractionAt": "lastInteractionAt", "activity": "lastActivityAt"}


def list_sessions(store: SessionStore, params: dict[str, Any], *, active_runs: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """`sessions.list` over this agent's store (params already validated by the method)."""
    now = int(time.time() * 1000)
    limit = params.get("limit") or DEFAULT_LIMIT
    offset = params.get("offset") or 0
    nodes = store.all_nodes()
    entries = [(n, json.loads(n["entry_json"])) for n in nodes]
    if params.get("activeMinutes"):
        cutoff = now - int(params["activeMinutes"]) * 60_000
        entries = [(n, e) for n, e in entries if (e.get("updatedAt") or 0) >= cutoff]
    if params.get("activeOnly"):
        entries = [(n, e) for n, e in entries if e.get("status") == "running"]
    if params.get("label") is not None:
        entries = [(n, e) for n, e in entries if e.get("label") == params["label"]]
    if params.get("spawnedBy") is not None:
        entries = [(n, e) for n, e in entries if e.get("parentSessionKey") == params["spawnedBy"]]
    archived = params.get("archived", False)
    if archived != "all":
        entries = [(n, e) for n, e in entries if bool(e.get("archivedAt")) == bool(archived)]
    if params.get("pinned") is not None:
        entries = [(n, e) for n, e in entries if bool(e.get("pinnedAt")) == bool(params["pinned"])]
    if params.get("search"):
        q = str(params["search"]).lower()
        entries = [(n, e) for n, e in entries
                   if q in n["session_key"] or q in str(e.get("label") or "").lower() or q in str(e.get("displayName") or "").lower()]
    field = _SORT.get(params.get("sortBy") or "updatedAt", "updatedAt")
    entries.sort(key=lambda ne: (ne[1].get(field) or 0, ne[0]["session_key"]), reverse=True)
    if params.get("ownerFirst") or params.get("pinned") is None:
        entries.sort(key=lambda ne: not ne[1].get("pinnedAt"))  # stable: pinned first, order kept
    total = len(entries)
    page = entries[offset: offset + limit]
    next_offset = offset + len(page)
    runs = active_runs or {}
    sessions = [session_row(store, n, include_last_message=bool(params.get("includeLastMessage")),
                            active_run_ids=runs.get(n["session_key"])) for n, _ in page]
    return {"ts": now, "path": str(store.path), "count": len(sessions), "totalCount": total, "limitApplied": limit,
            "nextOffset": next_offset if next_offset < total else None, "hasMore": next_offset < total,
            "owners": [], "defaults": defaults(store), "sessions": sessions}
