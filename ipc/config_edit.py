"""Editing the config: key paths, JSON merge patch, diffs, and the one atomic writer.

Shared by `config.apply`/`config.patch` (supervisor) and `openclaw config set/unset` (CLI),
so both write the same way: temp file, fsync, rename, the previous file kept as `.bak`,
the file's mode kept.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pyjson5

from .atomic import write_atomic

_MISSING = object()


class PathError(ValueError):
    pass


def split_path(path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise PathError(f"invalid key path {path!r} (use dots, e.g. gateway.port)")
    return parts


def get_path(data: dict[str, Any], path: str) -> Any:
    """The value at `path`, or raise KeyError naming the first missing part."""
    cur: Any = data
    done: list[str] = []
    for part in split_path(path):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(".".join([*done, part]))
        cur = cur[part]
        done.append(part)
    return cur


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `data` with `path` set, creating objects on the way."""
    parts = split_path(path)
    out = copy.deepcopy(data)
    cur = out
    for i, part in enumerate(parts[:-1]):
        nxt = cur.get(part, _MISSING)
        if nxt is _MISSING:
            nxt = cur[part] = {}
        elif not isinstance(nxt, dict):
            raise PathError(f"cannot set {path}: {'.'.join(parts[: i + 1])} is not an object")
        cur = nxt
    cur[parts[-1]] = value
    return out


def unset_path(data: dict[str, Any], path: str) -> tuple[dict[str, Any], bool]:
    parts = split_path(path)
    out = copy.deepcopy(data)
    cur: Any = out
    for part in parts[:-1]:
        if not isinstance(cur, dict) or not isinstance(cur.get(part), dict):
            return out, False
        cur = cur[part]
    if parts[-1] not in cur:
        return out, False
    del cur[parts[-1]]
    return out, True


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge, null deletes, anything else (arrays too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Key paths whose value differs, down to the deepest object level (lists compare whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if a is _MISSING or b is _MISSING:
                out.append(path)
            elif a != b or type(a) is not type(b):
                out.extend(changed_paths(a, b, path))
        return out
    return [prefix] if prefix and (old != new or type(old) is not type(new)) else []


def parse_cli_value(text: str) -> Any:
    """`config set` values: JSON5 when they parse (true, 18789, {a:1}, "x"), else the plain string."""
    try:
        return pyjson5.decode(text)
    except (pyjson5.Json5Exception, ValueError):
        return text


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_config(path: Path, text: str) -> None:
    """Atomically replace the config, keeping its mode and the previous version as `<name>.bak`."""
    mode = 0o600
    try:
        st = os.stat(path)
        mode = stat.S_IMODE(st.st_mode)
        previous = path.read_bytes()
    except FileNotFoundError:
        previous = None
    if previous is not None:
        write_atomic(path.with_name(path.name + ".bak"), previous, mode=mode)
    write_atomic(path, text.encode(), mode=mode)
