"""The tools this gateway implements: the read-only session/agent tools, and two workspace
file tools (`ls`, `read`) that only run when `tools.allow` names them.

Each tool is `(schema, run)`: `run(worker, args, ctx)` returns `(text, details)` or raises
ToolArgError (the caller's mistake: HTTP 400 "tool_error") or anything else (HTTP 500
"tool execution failed"). Outputs are JSON text the model can read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw.ipc import agents_config
from openclaw.ipc.config import config_value
from openclaw.ipc.errors import GatewayError

MAX_HISTORY = 200
MAX_READ_BYTES = 64 * 1024
MAX_LS_ENTRIES = 500
SEARCH_SESSIONS = 200


class ToolArgError(Exception):
    """Bad arguments: `message` is what the caller sees (upstream: "query must not be empty")."""


@dataclass(frozen=True)
class ToolContext:
    agent_id: str
    session_key: str | None = None
    run_id: str | None = None
    surface: str = "agent"  # "agent" (a run's tool loop) | "http" (/tools/invoke) | "rpc" (tools.invoke)

    @classmethod
    def of(cls, ctx: Any, default_agent: str) -> ToolContext:
        """C's run loop may pass a ToolContext or a plain dict {agentId, sessionKey, runId}."""
        if isinstance(ctx, ToolContext):
            return ctx
        d = ctx if isinstance(ctx, dict) else {}
        agent = d.get("agentId") or d.get("agent_id") or default_agent
        return cls(str(agent), d.get("sessionKey") or d.get("session_key"), d.get("runId") or d.get("run_id"),
                   str(d.get("surface") or "agent"))


Run = Callable[[Any, dict[str, Any], ToolContext], Awaitable[tuple[str, Any]]]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _int_arg(args: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    v = args.get(key, default)
    if v is None:
        return default
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise ToolArgError(f"{key} must be an integer >= {lo}")
    return min(v, hi)


def _str_arg(args: dict[str, Any], key: str) -> str | None:
    v = args.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ToolArgError(f"{key} must be a string")
    return v


def _store(worker: Any, agent_id: str) -> Any:
    stores = getattr(worker, "stores", None)
    if stores is None:
        raise RuntimeError("session store not available")
    return stores.get(agent_id)


def _session_key(args: dict[str, Any], ctx: ToolContext, *, required: bool) -> str | None:
    raw = _str_arg(args, "sessionKey") or _str_arg(args, "key")
    if raw is None:
        if required and ctx.session_key is None:
            raise ToolArgError("sessionKey required")
        return ctx.session_key
    from openclaw.ipc.agent_db.keys import canonical_key

    try:
        return canonical_key(raw, ctx.agent_id)
    except GatewayError as exc:  # INVALID_REQUEST from the key rules
        raise ToolArgError(exc.message) from None


_ROW_KEYS = ("key", "sessionId", "agentId", "kind", "channel", "label", "displayName", "updatedAt", "model",
             "contextTokens", "totalTokens", "status", "abortedLastRun")


def _compact_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row.get(k) for k in _ROW_KEYS}
    out["childSessions"] = row.get("childSessions") or []
    return out


def _rows(worker: Any, agent_id: str, limit: int) -> list[dict[str, Any]]:
    listed = _store(worker, agent_id).list({"limit": limit})
    rows = listed.get("sessions") if isinstance(listed, dict) else None
    return [r for r in rows or [] if isinstance(r, dict)]


async def sessions_list(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    limit = _int_arg(args, "limit", 50, 1, 500)
    rows = [_compact_row(r) for r in _rows(worker, ctx.agent_id, limit)]
    value = {"count": len(rows), "sessions": rows}
    return _dump(value), value


def _history(worker: Any, agent_id: str, key: str, limit: int) -> list[dict[str, Any]]:
    hist = _store(worker, agent_id).chat_history(key, limit=limit, offset=0, max_chars=8000)
    msgs = hist.get("messages") if isinstance(hist, dict) else None
    return [m for m in msgs or [] if isinstance(m, dict)]


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _plain(message: dict[str, Any]) -> dict[str, Any]:
    return {"role": message.get("role"), "text": _text_of(message), "timestamp": message.get("timestamp")}


async def sessions_history(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    key = _session_key(args, ctx, required=True)
    assert key is not None
    limit = _int_arg(args, "limit", 50, 1, MAX_HISTORY)
    messages = [_plain(m) for m in _history(worker, ctx.agent_id, key, limit)]
    value = {"sessionKey": key, "count": len(messages), "messages": messages}
    return _dump(value), value


async def sessions_search(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    query = _str_arg(args, "query")
    if not query or not query.strip():
        raise ToolArgError("query must not be empty")
    limit = _int_arg(args, "limit", 20, 1, 200)
    needle = query.strip().lower()
    hits: list[dict[str, Any]] = []
    for row in _rows(worker, ctx.agent_id, SEARCH_SESSIONS):
        key = row.get("key")
        if not isinstance(key, str):
            continue
        for m in _history(worker, ctx.agent_id, key, MAX_HISTORY):
            text = _text_of(m)
            at = text.lower().find(needle)
            if at >= 0:
                lo = max(0, at - 80)
                hits.append({"sessionKey": key, "role": m.get("role"), "timestamp": m.get("timestamp"),
                             "snippet": text[lo:at + len(needle) + 80]})
                if len(hits) >= limit:
                    break
        if len(hits) >= limit:
            break
    value = {"query": query, "count": len(hits), "results": hits}
    return _dump(value), value


async def session_status(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    key = _session_key(args, ctx, required=False)
    if key is None:
        from openclaw.ipc.agent_db.keys import main_key

        key = main_key(ctx.agent_id)
    row = next((r for r in _rows(worker, ctx.agent_id, 1000) if r.get("key") == key), None)
    if row is None:
        value: dict[str, Any] = {"sessionKey": key, "status": "missing"}
    else:
        value = {"sessionKey": key, **{k: row.get(k) for k in (
            "sessionId", "status", "modelProvider", "model", "inputTokens", "outputTokens", "totalTokens",
            "contextTokens", "updatedAt", "startedAt", "endedAt", "lastRunId", "abortedLastRun")}}
    return _dump(value), value


def agent_ids(worker: Any) -> list[str]:
    """Configured agent ids, the default one first."""
    return agents_config.runtime_agents(worker.config)


def agent_model(worker: Any, agent_id: str) -> str:
    try:
        from openclaw.workers.agent.providers.catalog import resolve_chain

        chain = resolve_chain(worker.config, agent_id)
        if chain:
            return chain[0].label
    except Exception:  # no catalog yet, or a config error: say what the config says
        pass
    for path in (f"agents.entries.{agent_id}.model", "agents.defaults.model"):
        m = config_value(worker.config, path, None)
        if isinstance(m, dict):
            m = m.get("primary")
        if isinstance(m, str) and m:
            return m
    return "openclaw-local/echo"


async def agents_list(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    entries = config_value(worker.config, "agents.entries", None)
    agents = [{"id": a, "configured": isinstance(entries, dict) and a in entries, "model": agent_model(worker, a),
               "agentRuntime": {"id": "openclaw", "source": "default"}} for a in agent_ids(worker)]
    value = {"requester": ctx.agent_id, "allowAny": False, "agents": agents}
    return _dump(value), value


async def get_goal(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    value = {"status": "missing"}
    return _dump(value), value


async def sessions_yield(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    value = {"status": "yielded"}
    return _dump(value), value


async def subagents(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    value = {"active": [], "recent": []}
    return _dump(value), value


def workspace(worker: Any, agent_id: str) -> Path:
    configured = config_value(worker.config, f"agents.entries.{agent_id}.workspace", None)
    if not isinstance(configured, str) or not configured:
        configured = config_value(worker.config, "agents.defaults.workspace", None) if agent_id == worker.default_agent else None
    if isinstance(configured, str) and configured:
        return Path(os.path.expanduser(configured))
    state = Path(worker.gateway.state_dir)
    return state / "workspace" if agent_id == worker.default_agent else state / f"workspace-{agent_id}"


def _inside(root: Path, rel: str | None) -> Path:
    base = root.resolve()
    target = (base / (rel or ".")).resolve()
    if target != base and base not in target.parents:
        raise ToolArgError("path must stay inside the agent workspace")
    return target


async def ls(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    target = _inside(workspace(worker, ctx.agent_id), _str_arg(args, "path"))
    if not target.is_dir():
        raise ToolArgError("not a directory")
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in target.iterdir())[:MAX_LS_ENTRIES]
    return "\n".join(names), {"path": str(target), "entries": names}


async def read(worker: Any, args: dict[str, Any], ctx: ToolContext) -> tuple[str, Any]:
    rel = _str_arg(args, "path")
    if not rel:
        raise ToolArgError("path required")
    target = _inside(workspace(worker, ctx.agent_id), rel)
    if not target.is_file():
        raise ToolArgError("not a file")
    with target.open("rb") as f:
        data = f.read(MAX_READ_BYTES + 1)
    text = data[:MAX_READ_BYTES].decode(errors="replace")
    if len(data) > MAX_READ_BYTES:
        text += f"\n[truncated at {MAX_READ_BYTES} bytes]"
    return text, {"path": str(target), "truncated": len(data) > MAX_READ_BYTES}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


_KEY = {"type": "string", "description": "Session key (agent:<id>:<name>); default: this session."}
_LIMIT = {"type": "integer", "minimum": 1}

IMPLEMENTED: dict[str, tuple[dict[str, Any], Run]] = {
    "sessions_list": (_obj({"limit": _LIMIT}), sessions_list),
    "sessions_history": (_obj({"sessionKey": _KEY, "limit": _LIMIT}), sessions_history),
    "sessions_search": (_obj({"query": {"type": "string"}, "limit": _LIMIT}, ["query"]), sessions_search),
    "session_status": (_obj({"sessionKey": _KEY}), session_status),
    "agents_list": (_obj({}), agents_list),
    "get_goal": (_obj({}), get_goal),
    "sessions_yield": (_obj({}), sessions_yield),
    "subagents": (_obj({}), subagents),
    "ls": (_obj({"path": {"type": "string", "description": "Relative to the workspace."}}), ls),
    "read": (_obj({"path": {"type": "string", "description": "Relative to the workspace."}}, ["path"]), read),
}
