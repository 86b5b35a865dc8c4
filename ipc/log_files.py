"""Names of a gateway's log files: today's file, its size-rotated siblings, the whole stream, pruning.

A *rolling* log file has the local date in its name (`openclaw[-<profile>]-YYYY-MM-DD.log`, the
default, or a `logging.file` of that shape): the writers switch to a new name at local midnight.
Any other `logging.file` is one fixed name. Either way, a file that would grow past
`logging.maxFileBytes` is renamed to `<stem>.1<ext>` (the older ones shift to `.2` ... up to
`logging.maxFiles`, the oldest is deleted), as upstream names them (`openclaw-2026-11-21.1.log`).

The *stream* is every file of one log, oldest first: for each date, `.N` ... `.1`, then the file
itself. `openclaw logs` and `logs.tail` read it as one sequence (ipc/log_tail.py).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .paths import default_log_file

ROLLING_NAME = re.compile(r"^(openclaw(?:-[a-z0-9-]+)?)-(\d{4}-\d{2}-\d{2})\.log$")
LEGACY_TEMPLATE = "openclaw-YYYY-MM-DD.log"  # upstream's placeholder name, rolling too

DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_FILES = 5
DEFAULT_RETENTION_DAYS = 3  # with the defaults, at most 4 dates x 6 files x 50 MiB (upstream: ~1.2 GB too)


@dataclass(frozen=True)
class Rotation:
    """How big one file may grow and how much of the stream is kept."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_files: int = DEFAULT_MAX_FILES  # size-rotated siblings kept per file (`.1` ... `.N`)
    retention_days: int = DEFAULT_RETENTION_DAYS  # dated files older than this many days are deleted


def configured_log_file(file_value: str | None, profile: str | None) -> tuple[Path, bool]:
    """`logging.file` (rolling if its name has the dated shape), else the profile's default file:
    (today's path, rolling)."""
    if file_value:
        path = Path(file_value).expanduser()
        rolling = is_rolling(path)
        return (active_file(path, True) if rolling else path), rolling
    return default_log_file(profile), True


def current_log_file(recorded: str | None, configured: object, profile: str | None) -> tuple[Path, bool]:
    """The file a gateway writes now: the one its instance record names (`recorded`), else
    `logging.file` (`configured`), else the profile's default; moved to today's date when rolling.
    (path, rolling)"""
    if recorded:
        path, rolling = Path(recorded), is_rolling(recorded)
    else:
        value = configured if isinstance(configured, str) and configured.strip() else None
        path, rolling = configured_log_file(value, profile)
    return active_file(path, rolling), rolling


def is_rolling(path: Path | str) -> bool:
    name = Path(path).name
    return name == LEGACY_TEMPLATE or ROLLING_NAME.match(name) is not None


def for_date(path: Path | str, day: _dt.date) -> Path:
    """The file of `day` in the stream of `path` (unchanged for a fixed name)."""
    p = Path(path)
    if p.name == LEGACY_TEMPLATE:
        return p.with_name(f"openclaw-{day.isoformat()}.log")
    m = ROLLING_NAME.match(p.name)
    return p.with_name(f"{m.group(1)}-{day.isoformat()}.log") if m else p


def active_file(path: Path | str, rolling: bool, today: _dt.date | None = None) -> Path:
    """The file written now: today's for a rolling log, the name itself otherwise."""
    return for_date(path, today or _dt.date.today()) if rolling else Path(path)


def rotated_name(path: Path, index: int) -> Path:
    """`openclaw-2026-11-21.log` -> `openclaw-2026-11-21.<index>.log`; `gw` -> `gw.<index>`."""
    stem, dot, ext = path.name.rpartition(".")
    if not dot or not stem:
        return path.with_name(f"{path.name}.{index}")
    return path.with_name(f"{stem}.{index}.{ext}")


def lock_file(path: Path, rolling: bool) -> Path:
    """The lock the writers of one stream share (rotation is done under it)."""
    m = ROLLING_NAME.match(path.name) if rolling else None
    return path.with_name(f".{m.group(1) if m else path.name}.lock")


def _sibling_pattern(path: Path) -> re.Pattern[str]:
    stem, dot, ext = path.name.rpartition(".")
    if not dot or not stem:
        return re.compile(re.escape(path.name) + r"(?:\.(\d+))?$")
    return re.compile(re.escape(stem) + r"(?:\.(\d+))?" + re.escape("." + ext) + "$")


def _family_pattern(path: Path) -> re.Pattern[str] | None:
    m = ROLLING_NAME.match(path.name)
    if not m:
        return None
    return re.compile(re.escape(m.group(1)) + r"-(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.log$")


def _entries(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


@dataclass(frozen=True)
class StreamFile:
    path: Path
    day: str  # "" for a fixed name
    index: int  # 0 for the file itself, N for its `.N` sibling

    @property
    def order(self) -> tuple[str, int, int]:
        return (self.day, 0 if self.index else 1, -self.index)


def stream_files(path: Path, rolling: bool) -> list[StreamFile]:
    """Every file of the stream of `path` that exists, oldest first."""
    found: list[StreamFile] = []
    family = _family_pattern(path) if rolling else None
    if family is not None:
        for name in _entries(path.parent):
            m = family.fullmatch(name)
            if m:
                found.append(StreamFile(path.with_name(name), m.group(1), int(m.group(2) or 0)))
    else:
        siblings = _sibling_pattern(path)
        for name in _entries(path.parent):
            m = siblings.fullmatch(name)
            if m:
                found.append(StreamFile(path.with_name(name), "", int(m.group(1) or 0)))
    return sorted(found, key=lambda f: f.order)


def siblings(path: Path) -> list[StreamFile]:
    """`path` and its size-rotated siblings that exist (`.N` first)."""
    pattern = _sibling_pattern(path)
    found = [StreamFile(path.with_name(n), "", int(m.group(1) or 0)) for n in _entries(path.parent) if (m := pattern.fullmatch(n))]
    return sorted(found, key=lambda f: f.order)


def rotate(path: Path, max_files: int) -> None:
    """Move `path` out of the way: it becomes `.1`, `.1` becomes `.2` ... `.max_files` is deleted
    (with `max_files` 0 the file is deleted). Raises OSError when a rename fails."""
    for f in siblings(path):
        if f.index >= max(1, max_files):
            _unlink(f.path)
    for index in range(max_files - 1, 0, -1):
        src = rotated_name(path, index)
        if os.path.lexists(src):
            os.rename(src, rotated_name(path, index + 1))
    if max_files > 0:
        os.rename(path, rotated_name(path, 1))
    else:
        os.unlink(path)


def prune(path: Path, rolling: bool, rotation: Rotation, today: _dt.date | None = None) -> list[Path]:
    """Delete what the stream must not keep: siblings beyond `max_files` and, for a rolling log,
    dated files older than `retention_days`. Returns what was deleted."""
    today = today or _dt.date.today()
    oldest_kept = (today - _dt.timedelta(days=max(0, rotation.retention_days))).isoformat()
    gone = []
    for f in stream_files(path, rolling):
        too_old = rolling and f.day < oldest_kept
        if (too_old or f.index > rotation.max_files) and _unlink(f.path):
            gone.append(f.path)
    return gone


def _unlink(path: Path) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:
        return False
