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


def _leaves(value: Any, prefix: str) -> list[str]:
    if isinstance(value, dict) and value:
        return [p for k in sorted(value, key=str) for p in _leaves(value[k], f"{prefix}.{k}")]
    return [prefix]


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Key paths whose value differs, down to leaves (lists compare whole). An object added or
    removed as a whole counts as each of its leaves, so a reload rule for `a.b.c` sees `a.b.c`."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if a is _MISSING:
                out.extend(_leaves(b, path))
            elif b is _MISSING:
                out.extend(_leaves(a, path))
            elif a != b or type(a) is not type(b):
                out.extend(changed_paths(a, b, path))
        return out
    if not prefix or (old == new and type(old) is type(new)):
        return []
    if isinstance(old, dict) or isinstance(new, dict):  # an object replaced by a scalar or the reverse
        return sorted(set(_leaves(old, prefix)) | set(_leaves(new, prefix)))
    return [prefix]


def carry_paths(old: dict[str, Any], new: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """`old` with the values at `paths` taken from `new` (a path missing in `new` is removed)."""
    out = copy.deepcopy(old)
    for path in paths:
        try:
            value = get_path(new, path)
        except KeyError:
            out, _ = unset_path(out, path)
            continue
        try:
            out = set_path(out, path, copy.deepcopy(value))
        except PathError:  # a scalar where an object now is: take the whole parent
            parent = path.rsplit(".", 1)[0]
            out = set_path(out, parent, copy.deepcopy(get_path(new, parent))) if "." in path else out
    return out


def parse_cli_value(text: str) -> Any:
    """`config set` values: JSON5 when they parse (true, 18789, {a:1}, "x"), else the plain string."""
    try:
        return pyjson5.decode(text)
    except (pyjson5.Json5Exception, ValueError):
        return text


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_config(path: Path, text: str) -> None:
    """Atomically replace the config, keeping its mode and the previous version as `<name>.bak`.
    A symlinked config is written at its target, so the link (say, into a dotfiles repo) stays."""
    path = Path(os.path.realpath(path))
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
