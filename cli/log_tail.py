"""The last error line of a gateway's log, read from a bounded tail (never the whole file)."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

TAIL_BYTES = 256 * 1024
MAX_LINE_CHARS = 500
ERROR_LEVELS = {"error", "fatal"}
# Plain-text lines (stderr of a service, another writer) that name a start failure.
ERROR_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (r"\bENOSPC\b", r"no space left on device", r"\bEADDRINUSE\b|address already in use", r"\btraceback\b",
              r"\berror\b", r"\brefus", r"\bfatal\b")
]


def tail_lines(path: Path, max_bytes: int = TAIL_BYTES) -> list[str]:
    """Complete lines from the last `max_bytes` of `path` ([] when it cannot be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        st = os.fstat(fd)
        if st.st_size <= 0 or not stat.S_ISREG(st.st_mode):
            return []
        start = max(0, st.st_size - max_bytes)
        os.lseek(fd, start, os.SEEK_SET)
        data = os.read(fd, st.st_size - start)
    except OSError:
        return []
    finally:
        os.close(fd)
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first one is cut
    return lines


def render_line(line: str) -> tuple[str, bool]:
    """(readable text, is an error) for one log line: our JSON lines or plain text."""
    line = line.strip()
    try:
        rec = json.loads(line)
    except ValueError:
        rec = None
    if isinstance(rec, dict):
        meta = rec.get("_meta") if isinstance(rec.get("_meta"), dict) else {}
        level = str(meta.get("logLevelName") or rec.get("level") or "").lower()
        message = rec.get("message", rec.get("1", ""))
        text = f"{rec.get('time', '')} {level.upper()} {message}".strip()
        return text[:MAX_LINE_CHARS], level in ERROR_LEVELS
    return line[:MAX_LINE_CHARS], any(p.search(line) for p in ERROR_PATTERNS)


def last_error_line(path: Path, require_error: bool = False) -> str | None:
    """The newest error line; without `require_error`, the newest line of any kind when none is."""
    lines = tail_lines(path)
    last_any = None
    for raw in reversed(lines):
        if not raw.strip():
            continue
        text, is_error = render_line(raw)
        if is_error:
            return text
        if last_any is None:
            last_any = text
    return None if require_error else last_any
