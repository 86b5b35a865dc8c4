"""Session keys: the canonical form every store row and every event uses.

    canonical   agent:<agentId>:<rest>     (lower-case, trimmed; what the upstream reader requires)
    aliases     None / "" / "main"         -> agent:<agentId>:<mainKey>
                "<rest>" without "agent:"  -> agent:<agentId>:<rest>   (the default agent's prefix)
    refused     control characters or spaces, an empty part, "incognito-" (reserved), > 512 chars
"""

from __future__ import annotations

import re

from openclaw.ipc.errors import invalid_request

MAX_KEY_CHARS = 512
AGENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_REST_RE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


def valid_agent_id(agent_id: str) -> bool:
    return isinstance(agent_id, str) and bool(AGENT_ID_RE.match(agent_id))


def normalize_agent_id(agent_id: str) -> str:
    """Lower-cased and checked; a bad id is the caller's mistake (INVALID_REQUEST)."""
    norm = agent_id.strip().lower() if isinstance(agent_id, str) else ""
    if not valid_agent_id(norm):
        raise invalid_request(f"invalid agent id: {agent_id!r} (letters, digits, '-', '_'; at most 64)")
    return norm


def main_key(agent_id: str, main: str = "main") -> str:
    return f"agent:{normalize_agent_id(agent_id)}:{main}"


def agent_of(key: str) -> str | None:
    """The agent a canonical key belongs to, or None for a key that names none."""
    if not isinstance(key, str) or not key.startswith("agent:"):
        return None
    agent = key.split(":", 2)[1]
    return agent if valid_agent_id(agent) else None


def canonical_key(raw: str | None, agent_id: str, *, main_key: str = "main") -> str:
    """The canonical form of a session key as a client gave it (rules in the module docstring)."""
    agent = normalize_agent_id(agent_id)
    if raw is None:
        return f"agent:{agent}:{main_key}"
    if not isinstance(raw, str):
        raise invalid_request("invalid session key: must be a string")
    key = raw.strip().lower()
    if key in ("", "main", main_key):
        return f"agent:{agent}:{main_key}"
    if len(key) > MAX_KEY_CHARS:
        raise invalid_request(f"invalid session key: longer than {MAX_KEY_CHARS} characters")
    if not _REST_RE.match(key):
        raise invalid_request(f"invalid session key {raw!r}: no spaces or control characters")
    if key.startswith("incognito-"):
        raise invalid_request(f"invalid session key {raw!r}: the 'incognito-' prefix is reserved")
    if key.startswith("agent:"):
        parts = key.split(":", 2)
        if len(parts) < 3 or not valid_agent_id(parts[1]) or not parts[2] or "" in parts[2].split(":"):
            raise invalid_request(f"invalid session key {raw!r}: expected agent:<agentId>:<name>")
        return key
    if "" in key.split(":"):
        raise invalid_request(f"invalid session key {raw!r}: empty part")
    return f"agent:{agent}:{key}"
