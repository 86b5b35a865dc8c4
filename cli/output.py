"""Rendering: human text (coloured on a TTY unless NO_COLOR/--no-color) or machine JSON; exit codes."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

from openclaw.ipc.errors import ExitCode

from .globals import OPTIONS


def use_color(stream: Any = sys.stdout) -> bool:
    if not OPTIONS.color or os.environ.get("NO_COLOR") is not None:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def style(text: str, *, fg: str | None = None, bold: bool = False, stream: Any = sys.stdout) -> str:
    if not use_color(stream):
        return text
    codes = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36", "dim": "2"}
    seq = []
    if bold:
        seq.append("1")
    if fg:
        seq.append(codes[fg])
    return f"\x1b[{';'.join(seq)}m{text}\x1b[0m" if seq else text


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def print_json_bytes(raw: bytes) -> None:
    """Pretty-print a JSON payload exactly as received."""
    print_json(json.loads(raw))


def fail(message: str, code: int = ExitCode.FAILURE) -> NoReturn:
    sys.stderr.write(style(message, fg="red", stream=sys.stderr) + "\n")
    sys.stderr.flush()
    raise SystemExit(int(code))


def fail_json(error: dict[str, Any], extra: dict[str, Any] | None = None, code: int = ExitCode.FAILURE) -> NoReturn:
    out: dict[str, Any] = {"ok": False, "error": error}
    if extra:
        out.update(extra)
    print_json(out)
    raise SystemExit(int(code))
