"""JSON-lines logging shared by every process of the tree.

Each process appends whole lines to the same file with O_APPEND (one write per
line), in the shape the upstream `openclaw logs` reader parses: numbered
arguments "0" (subsystem JSON) and "1" (message), `_meta`, `time`, `message`.
`--verbose` mirrors every line to stdout in a readable form.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import stat
import socket
import sys
import threading
import time as _time
from pathlib import Path
from typing import Any

import msgspec

from .paths import default_log_file

LEVELS = {"trace": 1, "debug": 2, "info": 3, "warn": 4, "error": 5, "fatal": 6, "silent": 99}
_encoder = msgspec.json.Encoder()
_HOST = socket.gethostname()


class _Sink:
    def __init__(self) -> None:
        self.path: Path | None = None
        self.fd: int | None = None
        self.process = "openclaw"
        self.verbose = False
        self.min_level = LEVELS["info"]
        self.dated = False  # reopen at midnight when the name carries the date
        self.day = ""
        self.lock = threading.Lock()
        self.last_failure_note = -60.0

    def configure(self, path: str | None, process: str, verbose: bool, dated: bool, level: str) -> None:
        with self.lock:
            self.process = process
            self.verbose = verbose
            chosen = LEVELS.get(level, LEVELS["info"])
            self.min_level = min(LEVELS["debug"], chosen) if verbose else chosen
            self.dated = dated
            new_path = Path(path) if path else None
            if new_path != self.path or self.fd is None:
                self._open(new_path)

    def _open(self, path: Path | None) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.path = path
        self.day = _dt.date.today().isoformat()
        if path is None:
            return
        try:
            self.fd = open_log_file(path)
        except (OSError, LogFileRefused) as exc:
            why = exc if isinstance(exc, LogFileRefused) else (exc.strerror or exc)
            sys.stderr.write(f"openclaw {self.process}: not logging to {path}: {why}; warnings and errors go to stderr\n")

    def _write_failed(self, exc: OSError) -> None:
        """Say so on stderr (once a minute), never silently: e.g. logging.file on a full disk."""
        now = _time.monotonic()
        if now - self.last_failure_note >= 60.0:
            self.last_failure_note = now
            try:
                sys.stderr.write(f"openclaw {self.process}: cannot write the log file {self.path}: {exc.strerror or exc}\n")
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    def _maybe_rotate(self) -> None:
        if not self.dated or self.path is None:
            return
        today = _dt.date.today().isoformat()
        if today != self.day:
            self._open(self.path.with_name(f"openclaw-{today}.log"))

    def write(self, level: str, subsystem: str, message: str, fields: dict[str, Any]) -> None:
        level_id = LEVELS[level]
        if level_id < self.min_level:
            return
        now = _dt.datetime.now(_dt.timezone.utc)
        iso = now.isoformat(timespec="milliseconds")
        sub = '{"subsystem":"' + subsystem + '"}'
        record: dict[str, Any] = {
            "0": sub,
            "1": message,
            "_meta": {
                "runtime": "python",
                "hostname": _HOST,
                "date": iso.replace("+00:00", "Z"),
                "logLevelId": level_id,
                "logLevelName": level.upper(),
                "name": sub,
                "parentNames": ["openclaw"],
            },
            "time": iso,
            "hostname": _HOST,
            "message": message,
            "process": self.process,
            "pid": os.getpid(),
        }
        if fields:
            record["fields"] = fields
        line = _encoder.encode(record) + b"\n"
        with self.lock:
            self._maybe_rotate()
            if self.fd is not None:
                try:
                    os.write(self.fd, line)
                except OSError as exc:
                    self._write_failed(exc)
            if self.verbose or (self.fd is None and level_id >= LEVELS["warn"]):
                extra = " ".join(f"{k}={v}" for k, v in fields.items())
                text = f"{iso} {level.upper():5} [{self.process}] {subsystem}: {message}"
                stream = sys.stdout if self.verbose else sys.stderr
                try:
                    stream.write(text + (" " + extra if extra else "") + "\n")
                    stream.flush()
                except (OSError, ValueError):
                    pass


_sink = _Sink()


class LogFileRefused(Exception):
    """The log file or the shared log folder is not safely ours."""


def open_log_file(path: Path) -> int:
    """Open `path` for appending, refusing what another local user could have planted.

    Missing folders are made 0700. The shared default folder (`/tmp/openclaw`, which anyone
    could have created first) must be a real folder of ours, and is tightened to 0700. The file
    is opened with O_NOFOLLOW (a symlink is refused, not followed) and must be ours."""
    parent = path.parent
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if parent == default_log_file().parent:
        st = os.lstat(parent)
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise LogFileRefused(f"the log folder {parent} is a symlink or not a folder")
        if st.st_uid != os.getuid():
            raise LogFileRefused(f"the log folder {parent} belongs to another user (uid {st.st_uid})")
        if st.st_mode & 0o077:
            os.chmod(parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LogFileRefused(f"{path} is a symlink") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise LogFileRefused(f"{path} is not a regular file of ours (uid {st.st_uid})")
    return fd


def configure(path: str | None, process: str, verbose: bool = False, level: str = "info") -> None:
    """Where this process logs and from which level (`--verbose` means debug); safe to call again."""
    dated = bool(path) and Path(path).name.startswith("openclaw-") and Path(path).suffix == ".log"
    _sink.configure(path, process, verbose, dated, level)


def current_file() -> Path | None:
    return _sink.path


class Logger:
    __slots__ = ("subsystem",)

    def __init__(self, subsystem: str) -> None:
        self.subsystem = subsystem

    def debug(self, message: str, **fields: Any) -> None:
        _sink.write("debug", self.subsystem, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        _sink.write("info", self.subsystem, message, fields)

    def warn(self, message: str, **fields: Any) -> None:
        _sink.write("warn", self.subsystem, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        _sink.write("error", self.subsystem, message, fields)

    @property
    def debug_enabled(self) -> bool:
        return _sink.min_level <= LEVELS["debug"]


def get_logger(subsystem: str) -> Logger:
    return Logger(subsystem)
