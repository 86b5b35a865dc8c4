"""`node.invoke`'s time budget, read the same way by the front-end (the router's deadline) and the
node worker (the budget passed to the node)."""

from __future__ import annotations

from typing import Any

DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 600_000


def timeout_ms(params: Any) -> int:
    value = params.get("timeoutMs") if isinstance(params, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(min(value, MAX_TIMEOUT_MS))
    return DEFAULT_TIMEOUT_MS
