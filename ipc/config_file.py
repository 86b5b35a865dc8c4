"""Reading the JSON5 config file: bounded in size and depth, errors with line and column.

pyjson5 (a C parser) reads a 1 MB file in ~30 ms; the pure-Python reference parser took
seconds. Every failure is a `ConfigFileError`, which is a `ConfigRefusal` (exit 78 at start).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import msgspec
import pyjson5

from .errors import ConfigRefusal

MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_CONFIG_DEPTH = 64
_NEAR = re.compile(r"near (\d+)")
_TOKEN_NAMES = {"colon": "':'", "comma": "','", "object": "object", "array": "array"}


def _friendly(message: str) -> str:
    """pyjson5's `Expected b'colon' , found U+007d` -> `expected ':', found '}'`."""
    message = re.sub(r"b'(\w+)'", lambda m: _TOKEN_NAMES.get(m.group(1), m.group(1)), message)
    message = re.sub(r"U\+([0-9a-fA-F]{4,6})", lambda m: repr(chr(int(m.group(1), 16))), message)
    message = re.sub(r"\s+,", ",", message)
    message = re.sub(r"^Unclosed (.+) starting$", r"the \1 opened here is never closed", message)
    return message[:1].lower() + message[1:]


class LoadedConfig(msgspec.Struct):
    path: str
    exists: bool
    raw: str
    data: dict[str, Any]
    hash: str


class ConfigFileError(ConfigRefusal):
    """The file cannot be used; `line`/`column` point at the problem when known (1-based)."""

    def __init__(self, path: str, problem: str, line: int | None = None, column: int | None = None) -> None:
        where = f"{path}:{line}:{column}" if line is not None else path
        super().__init__(f"Invalid config {where}: {problem}")
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column

    def issue(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": "<root>", "message": self.problem}
        if self.line is not None:
            out.update(line=self.line, column=self.column)
        return out


def hash_text(raw: str) -> str:
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def _position(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(len(text), offset))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def parse_config_text(raw: str, source: str) -> dict[str, Any]:
    """JSON5 text -> the top-level object, or ConfigFileError naming `source` and the position."""
    if len(raw.encode()) > MAX_CONFIG_BYTES:
        raise ConfigFileError(source, f"larger than {MAX_CONFIG_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        data = pyjson5.decode(raw, maxdepth=MAX_CONFIG_DEPTH)
    except pyjson5.Json5NestingTooDeep:
        raise ConfigFileError(source, f"nested deeper than {MAX_CONFIG_DEPTH} levels") from None
    except pyjson5.Json5Exception as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        m = _NEAR.search(message)
        if m:
            line, column = _position(raw, int(m.group(1)) - 1)
            message = _friendly(_NEAR.sub("", message).replace("  ", " ").strip().rstrip(","))
            raise ConfigFileError(source, f"not valid JSON5 ({message})", line, column) from None
        raise ConfigFileError(source, f"not valid JSON5 ({message})") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # defensive: never a traceback
        raise ConfigFileError(source, f"not valid JSON5 ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ConfigFileError(source, "the top level must be an object")
    return data


def load_config(path: Path) -> LoadedConfig:
    """Read and parse `path`; a missing file is an empty config with exists=False."""
    try:
        with open(path, "rb") as f:
            blob = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return LoadedConfig(path=str(path), exists=False, raw="", data={}, hash=hash_text(""))
    except IsADirectoryError:
        raise ConfigFileError(str(path), "is a directory, not a file") from None
    except OSError as exc:
        raise ConfigFileError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    if len(blob) > MAX_CONFIG_BYTES:
        raise ConfigFileError(str(path), f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        raw = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    data = parse_config_text(raw, str(path))
    return LoadedConfig(path=str(path), exists=True, raw=raw, data=data, hash=hash_text(raw))
