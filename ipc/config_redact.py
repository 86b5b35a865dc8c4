"""Secrets out of config views: `config.get`, `openclaw config get`, status output."""

from __future__ import annotations

import re
from typing import Any

SECRET_KEY_RE = re.compile(r"(token|password|secret|apikey|api_key|privatekey|credential)", re.I)
REDACTED = "__OPENCLAW_REDACTED__"


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(key))


def redact(value: Any) -> Any:
    """A deep copy of a config value with every secret-looking string replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if is_secret_key(str(k)) and isinstance(v, str) else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def secret_values(value: Any) -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and is_secret_key(str(k)) and v:
                out.append(v)
            else:
                out.extend(secret_values(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(secret_values(v))
    return out


def redact_raw(raw: str, data: Any) -> str:
    for secret in sorted(set(secret_values(data)), key=len, reverse=True):
        raw = raw.replace(secret, REDACTED)
    return raw


def restore_redacted(value: Any, current: Any, path: str = "") -> tuple[Any, list[str]]:
    """`value` with every REDACTED placeholder replaced by the current secret at the same path, so
    a config.get -> edit -> config.apply round trip keeps the secrets. Placeholders with no current
    value to restore are returned as paths (the write must be refused: the placeholder is public)."""
    if value == REDACTED:
        if isinstance(current, str) and current != REDACTED:
            return current, []
        return value, [path or "<root>"]
    if isinstance(value, dict):
        out, missing = {}, []
        for k, v in value.items():
            cur = current.get(k) if isinstance(current, dict) else None
            out[k], miss = restore_redacted(v, cur, f"{path}.{k}" if path else str(k))
            missing += miss
        return out, missing
    if isinstance(value, list):
        out_list, missing = [], []
        for i, v in enumerate(value):
            cur = current[i] if isinstance(current, list) and i < len(current) else None
            item, miss = restore_redacted(v, cur, f"{path}[{i}]")
            out_list.append(item)
            missing += miss
        return out_list, missing
    return value, []
