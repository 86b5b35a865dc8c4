"""What a gateway process prints on its console (`logging.consoleLevel`, `logging.consoleStyle`).

Styles: `pretty` (the default on a terminal: local time, level coloured, subsystem, message),
`compact` (the default otherwise: one plain line with the ISO time and the process), `json` (the
line exactly as in the log file). Warnings and errors go to stderr, the rest to stdout.

Lines are written by a daemon thread through a bounded queue, so a console that does not read
(a terminal paused with Ctrl-S, a pipe nobody drains) never stalls the process: past
`QUEUE_LINES` waiting lines new ones are dropped, and how many is said once the console reads again.
"""

from __future__ import annotations

import datetime as _dt
import os
import queue
import sys
import threading
from typing import Any, TextIO

QUEUE_LINES = 1000
STYLES = ("pretty", "compact", "json")
_COLOURS = {"trace": "2", "debug": "2", "info": "36", "warn": "33", "error": "31", "fatal": "1;31"}


def default_style() -> str:
    try:
        return "pretty" if sys.stdout.isatty() else "compact"
    except (AttributeError, ValueError):
        return "compact"


def _colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") is not None:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _extra(fields: dict[str, Any]) -> str:
    return "".join(f" {k}={v}" for k, v in fields.items())


def render(style: str, stream: TextIO, *, level: str, when: _dt.datetime, process: str, subsystem: str,
           message: str, fields: dict[str, Any], json_line: bytes) -> str:
    if style == "json":
        return json_line.decode("utf-8", errors="replace").rstrip("\n")
    if style == "compact":
        iso = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return f"{iso} {level.upper():5} [{process}] {subsystem}: {message}{_extra(fields)}"
    clock = when.astimezone().strftime("%H:%M:%S")
    tag = f"{level.upper():5}"
    if _colour(stream):
        code = _COLOURS.get(level, "0")
        return f"\x1b[2m{clock}\x1b[0m \x1b[{code}m{tag}\x1b[0m \x1b[34m{subsystem}\x1b[0m \x1b[{code}m{message}\x1b[0m{_extra(fields)}"
    return f"{clock} {tag} {subsystem} {message}{_extra(fields)}"


class Console:
    """The process's console writer (one daemon thread, started with the first line)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[TextIO, str] | None] = queue.Queue(QUEUE_LINES)
        self.thread: threading.Thread | None = None
        self.dropped = 0
        self.guard = threading.Lock()

    def put(self, stream: TextIO, text: str) -> None:
        with self.guard:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="openclaw-console", daemon=True)
                self.thread.start()
        try:
            self.queue.put_nowait((stream, text))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            stream, text = item
            if self.dropped:
                dropped, self.dropped = self.dropped, 0
                text = f"({dropped} console lines dropped: the console was not reading)\n{text}"
            try:
                stream.write(text + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass

    def drain(self, within_s: float = 0.5) -> None:
        """Let waiting lines out before the process exits (bounded)."""
        if self.thread is None:
            return
        try:
            self.queue.put(None, timeout=within_s)
        except queue.Full:
            return
        self.thread.join(within_s)
        with self.guard:
            self.thread = None
