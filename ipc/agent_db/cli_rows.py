"""The rows `openclaw sessions` prints (upstream CLI JSON), read straight from a session_nodes row."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

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
