"""What a canvas request may read (pure, no HTTP): the path jail, content types, Range headers.

A request path maps to a file only if every segment is a plain name (no `.`/`..`, no hidden
names, no encoded `/`, `\\` or NUL), and the file actually opened lies under the root's real
path: realpath before opening, and the path of the open descriptor (/proc/self/fd) after it, so
a symlink swapped in between cannot lead outside. Symlinks that stay inside the root work.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from dataclasses import dataclass
from urllib.parse import unquote

from openclaw.ipc.canvas_config import PREFIX

MOUNT = PREFIX.rstrip("/")  # `/__openclaw__/canvas`: redirected to the prefix
INDEX = "index.html"

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
    ".webmanifest": "application/manifest+json",
}
FALLBACK_TYPE = "application/octet-stream"


def content_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    known = TYPES.get(ext)
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed is None:
        return FALLBACK_TYPE
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


@dataclass(frozen=True)
class Target:
    segments: tuple[str, ...]
    directory: bool  # the path ended with "/"


def parse_path(raw_path: str) -> Target | None:
    """The decoded segments under the prefix, or None when the path is refused or not ours."""
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX):].split("/")
    segments: list[str] = []
    for i, part in enumerate(parts):
        if part == "":
            if i == len(parts) - 1:
                break
            return None  # `//` inside the path
        try:
            name = unquote(part, errors="strict")
        except UnicodeDecodeError:
            return None
        if name.startswith(".") or any(c in name for c in "/\\\x00") or len(name.encode()) > 255:
            return None
        segments.append(name)
    return Target(tuple(segments), directory=path.endswith("/"))


def under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Opened:
    """An open regular file under the root; close() it."""

    __slots__ = ("fd", "name", "stat")

    def __init__(self, fd: int, name: str, st: os.stat_result) -> None:
        self.fd, self.name, self.stat = fd, name, st

    def close(self) -> None:
        os.close(self.fd)


def locate(root: str, target: Target) -> str | None:
    """The real path `target` names if it lies under `root` (a real path), else None."""
    real = os.path.realpath(os.path.join(root, *target.segments))
    return real if under(real, root) else None


def open_file(root: str, real: str) -> Opened | None:
    """Open `real` if it is a regular file that is still under `root` once open, else None."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO must not block
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not under(os.readlink(f"/proc/self/fd/{fd}"), root):
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    return Opened(fd, real, st)


_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes "²" and "١"
_BIG = 1 << 62  # any longer number is "past every file" (int() refuses over 4300 digits)


def _number(text: str) -> int | None:
    if not _DIGITS.fullmatch(text):
        return None
    text = text.lstrip("0") or "0"
    return int(text) if len(text) <= 18 else _BIG


class Unsatisfiable(Exception):
    """416: the range starts past the end."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`Range` -> (first, last) inclusive; None to send the whole file (no header, another unit,
    bad syntax, several ranges: a server may ignore those, RFC 9110 §14.2). Unsatisfiable -> 416."""
    if not header:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    spec = spec.strip()
    if "," in spec:
        return None
    first_s, dash, last_s = spec.partition("-")
    first_s, last_s = first_s.strip(), last_s.strip()
    first_n = _number(first_s) if first_s else None
    last_n = _number(last_s) if last_s else None
    if not dash or (first_s and first_n is None) or (last_s and last_n is None) or not (first_s or last_s):
        return None
    if first_n is None:  # suffix: the last N bytes
        assert last_n is not None
        if last_n == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - last_n), size - 1
    first = first_n
    last = last_n if last_n is not None else size - 1
    if last_n is not None and last < first:
        return None
    if first >= size:
        raise Unsatisfiable
    return first, min(last, size - 1)
