"""Dotted lookups in a config dict (`gateway.auth.token`), with no other import: every ipc module
may use it, whatever it is imported by (ipc.config re-exports it)."""

from __future__ import annotations

from typing import Any


def config_value(data: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """`gateway.auth.token`-style lookup; `default` when any part is missing."""
    cur: Any = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur
