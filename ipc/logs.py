"""JSON-lines logging shared by every process of the tree.

Each process appends whole lines to its gateway's log file (ipc/log_writer.py: O_APPEND, one
write per line, rotation by size and by day coordinated between the processes), in the shape
the upstream `openclaw logs` reader parses: numbered arguments "0" (subsystem JSON) and "1"
(message), `_meta`, `time`, `message`.

`logging.level` filters the file, `logging.consoleLevel` and `logging.consoleStyle` what a
process prints (ipc/log_console.py); `--verbose` means debug for both. When the file cannot be
used, warnings and errors still reach stderr.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import os
import socket
import stat
import sys
import threading
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from . import log_files
from .log_console import Console, default_style, render
from .log_files import Rotation
from .log_tail import HEADER_MESSAGE
from .log_writer import LogFileRefused, SharedLogFile

__all__ = ["LEVELS", "LogFileRefused", "LogSettings", "Logger", "configure", "configure_gateway", "current_file", "get_logger"]

LEVELS = {"trace": 1, "debug": 2, "info": 3, "warn": 4, "error": 5, "fatal": 6, "silent": 99}
_encoder = msgspec.json.Encoder()
_HOST = socket.gethostname()


@dataclass(frozen=True)
class LogSettings:
    file: str | None  # None: no file (warnings and errors to stderr)
    rolling: bool = False
    level: str = "info"
    console_level: str | None = "silent"  # None: info, or warn when stdout is a regular file
    console_style: str | None = None  # None: pretty on a terminal, compact otherwise
    verbose: bool = False
    rotation: Rotation = field(default_factory=Rotation)


class _Sink:
    def __init__(self) -> None:
        self.settings = LogSettings(file=None)
        self.writer: SharedLogFile | None = None
        self.process = "openclaw"
        self.file_level = LEVELS["info"]
        self.console_level = LEVELS["silent"]
        self.console_style = "compact"
        self.min_level = LEVELS["info"]
        self.console = Console()
        self.console_is_log = False  # our stdout is the log file itself: printing would double it
        self.lock = threading.Lock()
        self.last_failure_note = -60.0

    def configure(self, settings: LogSettings, process: str) -> None:
        with self.lock:
            self.process = process
            file_level = LEVELS.get(settings.level, LEVELS["info"])
            console_level = LEVELS.get(settings.console_level or default_console_level(), LEVELS["info"])
            if settings.verbose:
                file_level, console_level = min(LEVELS["debug"], file_level), LEVELS["debug"]
            self.file_level, self.console_level = file_level, console_level
            self.min_level = min(file_level, console_level)
            self.console_style = settings.console_style or default_style()
            old = self.settings
            self.settings = settings
            if self.writer is not None and (old.file, old.rolling) == (settings.file, settings.rolling):
                self.writer.rotation = settings.rotation
            else:
                self._open(settings)
            self.console_is_log = self._stdout_is_log()

    def _open(self, settings: LogSettings) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if not settings.file:
            return
        writer = SharedLogFile(Path(settings.file), settings.rolling, settings.rotation, self._header)
        try:
            writer.open()
        except (OSError, LogFileRefused) as exc:
            writer.close()
            why = exc if isinstance(exc, LogFileRefused) else (exc.strerror or exc)
            sys.stderr.write(f"openclaw {self.process}: not logging to {writer.path}: {why}; warnings and errors go to stderr\n")
            return
        if writer.lock_problem and self.process == "supervisor":
            sys.stderr.write(f"openclaw: the log file {writer.path} is not rotated: its lock file: {writer.lock_problem}\n")
        self.writer = writer

    def _stdout_is_log(self) -> bool:
        """A service that sends our output into the log file itself gets no console copy."""
        if self.writer is None:
            return False
        try:
            out = os.fstat(1)
        except OSError:
            return False
        names = [f.path for f in log_files.stream_files(self.writer.template, self.writer.rolling)]
        for path in names:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
                return True
        return False

    def _record(self, level: str, subsystem: str, message: str, fields: dict[str, Any], now: _dt.datetime) -> bytes:
        iso = now.isoformat(timespec="milliseconds")
        sub = '{"subsystem":"' + subsystem + '"}'
        record: dict[str, Any] = {
            "0": sub,
            "1": message,
            "_meta": {
                "runtime": "python",
                "hostname": _HOST,
                "date": iso.replace("+00:00", "Z"),
                "logLevelId": LEVELS[level],
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
        return _encoder.encode(record) + b"\n"

    def _header(self, previous: str, base: int) -> bytes:
        """The first line of a file that continues the stream (read back by ipc/log_tail.py)."""
        now = _dt.datetime.now(_dt.UTC)
        return self._record("info", "logs", HEADER_MESSAGE + previous, {"logBase": base, "previousFile": previous}, now)

    def _write_failed(self, exc: OSError) -> None:
        """Say so on stderr (once a minute), never silently: e.g. logging.file on a full disk."""
        now = _time.monotonic()
        if now - self.last_failure_note >= 60.0:
            self.last_failure_note = now
            path = self.writer.path if self.writer is not None else self.settings.file
            try:
                sys.stderr.write(f"openclaw {self.process}: cannot write the log file {path}: {exc.strerror or exc}\n")
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    def write(self, level: str, subsystem: str, message: str, fields: dict[str, Any], console: bool = True) -> None:
        level_id = LEVELS[level]
        if level_id < self.min_level:
            return
        now = _dt.datetime.now(_dt.UTC)
        line = self._record(level, subsystem, message, fields, now)
        with self.lock:
            if self.writer is not None and level_id >= self.file_level:
                try:
                    self.writer.append(line)
                except OSError as exc:
                    self._write_failed(exc)
            to_console = console and level_id >= self.console_level and not self.console_is_log
            if not to_console and self.writer is None and level_id >= LEVELS["warn"]:
                to_console = True  # no file: warnings and errors are not lost
            if to_console:
                stream = sys.stderr if level_id >= LEVELS["warn"] else sys.stdout
                text = render(self.console_style, stream, level=level, when=now, process=self.process,
                              subsystem=subsystem, message=message, fields=fields, json_line=line)
                self.console.put(stream, text)


def default_console_level() -> str:
    """`info`, except when stdout is a regular file (nohup.out, a service's output file): that
    copy would grow without rotation, and the log file has every line already."""
    try:
        return "warn" if stat.S_ISREG(os.fstat(1).st_mode) else "info"
    except OSError:
        return "info"


_sink = _Sink()
atexit.register(_sink.console.drain)


def configure(path: str | None, process: str, verbose: bool = False, level: str = "info") -> None:
    """Where this process logs and from which level (`--verbose` means debug, echoed to the console)."""
    rolling = bool(path) and log_files.is_rolling(path or "")
    _sink.configure(LogSettings(file=path, rolling=rolling, level=level, verbose=verbose), process)


def configure_gateway(gateway: Any, process: str) -> None:
    """Configure from a ResolvedGateway (ipc/config.py): file, levels, console, rotation."""
    _sink.configure(settings_of(gateway), process)


def settings_of(gateway: Any) -> LogSettings:
    return LogSettings(
        file=gateway.log_file,
        rolling=gateway.log_rolling,
        level=gateway.log_level,
        console_level=gateway.console_level,
        console_style=gateway.console_style,
        verbose=gateway.verbose,
        rotation=Rotation(gateway.log_max_file_bytes, gateway.log_max_files, gateway.log_retention_days),
    )


def current_file() -> Path | None:
    """The file this process writes now (None when it has none)."""
    return _sink.writer.path if _sink.writer is not None else None


class Logger:
    __slots__ = ("console", "subsystem")

    def __init__(self, subsystem: str, console: bool = True) -> None:
        self.subsystem = subsystem
        self.console = console

    def debug(self, message: str, **fields: Any) -> None:
        _sink.write("debug", self.subsystem, message, fields, self.console)

    def info(self, message: str, **fields: Any) -> None:
        _sink.write("info", self.subsystem, message, fields, self.console)

    def warn(self, message: str, **fields: Any) -> None:
        _sink.write("warn", self.subsystem, message, fields, self.console)

    def error(self, message: str, **fields: Any) -> None:
        _sink.write("error", self.subsystem, message, fields, self.console)

    @property
    def debug_enabled(self) -> bool:
        return _sink.min_level <= LEVELS["debug"]


def get_logger(subsystem: str, console: bool = True) -> Logger:
    """`console=False`: lines the caller already prints itself go to the file only."""
    return Logger(subsystem, console)
