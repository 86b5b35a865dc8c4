"""Closed-schema checks of the run methods' params (upstream's wording: "invalid <method> params:
at root: unexpected property 'k'" / "must have required property 'k'")."""

from __future__ import annotations

from typing import Any

from openclaw.ipc.errors import invalid_request

AGENT_KEYS = frozenset({
    "message", "idempotencyKey", "agentId", "sessionKey", "sessionId", "expectedExistingSessionId", "model", "provider",
    "thinking", "deliver", "channel", "to", "replyTo", "replyChannel", "replyAccountId", "accountId", "threadId",
    "attachments", "timeout", "label", "extraSystemPrompt", "lane", "cwd", "bestEffortDeliver", "runId",
})
HTTP_KEY = "__http"  # only from the front-end's HTTP runs (conn ids "http:…")
CHAT_SEND_KEYS = frozenset({
    "sessionKey", "message", "idempotencyKey", "agentId", "sessionId", "mentions", "thinking", "fastMode", "queueMode",
    "deliver", "originatingChannel", "originatingTo", "originatingAccountId", "originatingThreadId", "replyToId",
    "attachments", "timeoutMs", "expectedLeafEntryId",
})
SESSIONS_SEND_KEYS = frozenset({"key", "message", "idempotencyKey", "agentId", "thinking", "timeoutMs", "attachments"})
CHAT_ABORT_KEYS = frozenset({"sessionKey", "agentId", "runId", "preserveSideRuns"})
SESSIONS_ABORT_KEYS = frozenset({"key", "runId", "agentId", "clearQueued"})
WAIT_KEYS = frozenset({"runId", "timeoutMs"})
MAX_MESSAGE_CHARS = 4 * 1024 * 1024


def check_keys(method: str, params: dict[str, Any], allowed: frozenset[str], required: tuple[str, ...] = ()) -> None:
    for key in params:
        if key not in allowed:
            raise invalid_request(f"invalid {method} params: at root: unexpected property '{key}'")
    for key in required:
        if key not in params:
            raise invalid_request(f"invalid {method} params: must have required property '{key}'")


def string(method: str, params: dict[str, Any], key: str, *, required: bool = False, empty_ok: bool = True,
           max_len: int = 512) -> str | None:
    value = params.get(key)
    if value is None:
        if required:
            raise invalid_request(f"invalid {method} params: must have required property '{key}'")
        return None
    if not isinstance(value, str):
        raise invalid_request(f"invalid {method} params: {key} must be string")
    if not empty_ok and not value.strip():
        raise invalid_request(f"invalid {method} params: {key} must not be empty")
    if len(value) > max_len:
        raise invalid_request(f"invalid {method} params: {key} longer than {max_len} characters")
    return value


def number(method: str, params: dict[str, Any], key: str, *, minimum: float = 0) -> float | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum or value != value:  # noqa: PLR0124 - NaN
        raise invalid_request(f"invalid {method} params: {key} must be a number >= {minimum:g}")
    return float(value)


def http_extras(params: dict[str, Any], conn_id: str) -> dict[str, Any] | None:
    """`__http` {history:[{role,content}], system}: only an HTTP run may carry it."""
    extra = params.get(HTTP_KEY)
    if extra is None:
        return None
    if not conn_id.startswith("http:"):
        raise invalid_request(f"invalid agent params: at root: unexpected property '{HTTP_KEY}'")
    if not isinstance(extra, dict):
        raise invalid_request("invalid agent params: __http must be object")
    history = extra.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str) for m in history
    ):
        raise invalid_request("invalid agent params: __http.history must be [{role: user|assistant, content: string}]")
    system = extra.get("system") or ""
    if not isinstance(system, str):
        raise invalid_request("invalid agent params: __http.system must be string")
    return {"history": history, "system": system}
