"""Read a page of a log stream by cursor, across rotations (`logs.tail` and `openclaw logs`).

The cursor is a byte position in the whole stream, not in one file: every file that continues
another starts with a header line (written by ipc/log_writer.py under the stream's lock) whose
`fields.logBase` is the stream position of its first byte. A file without one starts at 0, so
until the first rotation the cursor is simply the byte offset in the file, as upstream's is.

A cursor from before a rotation therefore still names the same byte: the page continues in the
rotated file (`.1`) and then in the new one, and says `reset: true` as upstream does when a
file rotated under the cursor ("Log cursor reset (file rotated)."). A cursor into a file that
was deleted since continues at the oldest byte still kept (`skippedBytes`); one past the end of
the stream (another log, a file recreated by hand) starts again at the tail.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from .log_files import stream_files

HEADER_SCAN = 4096  # the header line is short; only its first bytes are read
HEADER_MESSAGE = "log file continues from "
DEFAULT_LIMIT = 500
DEFAULT_MAX_BYTES = 250_000
MAX_LIMIT = 5000
MAX_BYTES = 1_000_000


class _Header(msgspec.Struct):
    message: str = ""
    fields: dict[str, Any] = {}


_header_decoder = msgspec.json.Decoder(_Header)


def header_base(first_line: bytes) -> int | None:
    """The stream position a file starts at, from its first line; None when it is no header."""
    try:
        rec = _header_decoder.decode(first_line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    base = rec.fields.get("logBase")
    if rec.message.startswith(HEADER_MESSAGE) and isinstance(base, int) and not isinstance(base, bool) and base >= 0:
        return base
    return None


@dataclass(frozen=True)
class Segment:
    """One file of the stream, held open: what is read is what was measured, even if the name
    is rotated meanwhile."""

    path: Path
    base: int  # stream position of its first byte
    size: int
    fd: int
    ident: tuple[int, int]

    @property
    def end(self) -> int:
        return self.base + self.size

    def cut(self, size: int) -> Segment:
        return Segment(self.path, self.base, size, self.fd, self.ident)


def open_segment(path: Path, strict: bool = False) -> Segment | None:
    """A file of the stream with its base; None if it is missing (or, unless `strict`, cannot be
    read or is not a regular file: `strict` raises OSError for those). The caller closes `fd`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:
        if strict:
            raise
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            if strict:
                raise OSError(errno.EINVAL, "not a regular file")
            return None
        head = os.pread(fd, min(HEADER_SCAN, st.st_size), 0) if st.st_size else b""
    except OSError:
        os.close(fd)
        return None
    nl = head.find(b"\n")
    base = header_base(head[:nl]) if nl > 0 else None
    return Segment(path, base or 0, st.st_size, fd, (st.st_dev, st.st_ino))


def span(path: Path) -> tuple[int, int] | None:
    """(base, end) of one file of the stream, or None."""
    seg = open_segment(path)
    if seg is None:
        return None
    os.close(seg.fd)
    return seg.base, seg.end


class _Opened:
    """The segments opened for one read, closed together."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def add(self, seg: Segment | None) -> Segment | None:
        if seg is not None:
            self.segments.append(seg)
        return seg

    def close(self) -> None:
        for seg in self.segments:
            try:
                os.close(seg.fd)
            except OSError:
                pass


def _segments(opened: _Opened, template: Path, rolling: bool, newest: Segment, back_to: int) -> tuple[list[Segment], bool]:
    """The files of the stream from the one holding `back_to` up to `newest`, oldest first, and
    whether older ones may exist. Writers may rotate the files while they are listed and opened
    (every name shifts by one), so files are told apart by inode and ordered by their base, and
    the listing is read again (at most 3 times) while a rotation left a hole in what was found.
    A file that reaches into the range of the next one (a line written into it as it was rotated)
    is cut where that one begins; one that starts there (another stream's leftovers) is left out."""
    if newest.base <= back_to:
        return [newest], newest.base > 0
    found = {newest.ident: newest}
    chain: list[Segment] = [newest]
    older_left = False
    for _ in range(3):
        for f in reversed(stream_files(template, rolling)):
            seg = open_segment(f.path)
            if seg is None:
                continue
            if seg.ident in found or seg.base >= newest.end:  # seen, or rotated in after `newest`
                os.close(seg.fd)
                continue
            found[seg.ident] = opened.add(seg)  # type: ignore[assignment]
        chain, older_left, holes = _chain(newest, sorted(found.values(), key=lambda s: s.base), back_to)
        if not holes or not _rotated_since(newest):
            break
    return list(reversed(chain)), older_left


def _chain(newest: Segment, by_base: list[Segment], back_to: int) -> tuple[list[Segment], bool, bool]:
    """Newest first, going back while the files fit before one another; (chain, older left, holes)."""
    chain = [newest]
    holes = False
    older = [s for s in by_base if s is not newest]
    for i in range(len(older) - 1, -1, -1):
        seg, nxt = older[i], chain[-1]
        if seg.base >= nxt.base:
            continue
        if seg.end > nxt.base:
            seg = seg.cut(nxt.base - seg.base)
        holes = holes or seg.end < nxt.base
        chain.append(seg)
        if seg.base <= back_to:
            return chain, i > 0, holes
    return chain, False, holes or (chain[-1].base > back_to and chain[-1].base > 0)


def _rotated_since(newest: Segment) -> bool:
    try:
        st = os.stat(newest.path, follow_symlinks=False)
    except OSError:
        return True
    return (st.st_dev, st.st_ino) != newest.ident


def read_page(active: Path, rolling: bool, cursor: int | None, limit: int = DEFAULT_LIMIT,
              max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """`{file, cursor, size, lines, truncated, reset, skippedBytes?}` as `logs.tail` answers.
    Raises OSError when the file exists but cannot be read (or is not a regular file)."""
    opened = _Opened()
    try:
        return _read_page(opened, active, rolling, cursor, max(1, min(MAX_LIMIT, limit)), max(1, min(MAX_BYTES, max_bytes)))
    finally:
        opened.close()


def _read_page(opened: _Opened, active: Path, rolling: bool, cursor: int | None, limit: int, max_bytes: int) -> dict[str, Any]:
    newest = opened.add(open_segment(active, strict=True))
    if newest is None:  # not written yet (after midnight, or rotating this instant): the newest kept
        files = stream_files(active, rolling)
        newest = opened.add(open_segment(files[-1].path)) if files else None
    if newest is None:
        return {"file": str(active), "cursor": 0, "size": 0, "lines": [], "truncated": False, "reset": bool(cursor)}
    end = newest.end
    out: dict[str, Any] = {"file": str(newest.path), "cursor": end, "size": end, "lines": [], "truncated": False, "reset": False}
    if cursor is not None and cursor > end:  # another stream, or the file was recreated
        out["reset"] = True
        cursor = None
    want = max(0, end - max_bytes) if cursor is None else cursor
    segs, older_left = _segments(opened, active, rolling, newest, want)
    first = segs[0].base
    skipped = 0
    if cursor is None:
        start = max(first, want)
        out["truncated"] = start > first or older_left
    else:
        start = cursor
        if start < first:  # what it pointed at was deleted
            skipped, start = first - start, first
        if end - start > max_bytes:
            skipped += end - max_bytes - start
            start = end - max_bytes
            out["truncated"] = True
        if skipped or 0 < newest.base >= cursor:
            out["reset"] = True  # the file rotated under the cursor (and maybe more)
    lines: list[str] = []
    position = start
    for seg in segs:
        if seg.end <= position:
            continue
        if position < seg.base:  # a gap: a deleted file between two kept ones
            skipped += seg.base - position
            out["reset"] = True
            position = seg.base
        chunk, position = _read_lines(seg, position - seg.base, last=seg is segs[-1])
        lines.extend(ln.decode("utf-8", errors="replace") for ln in chunk.split(b"\n") if ln)
    out["cursor"] = position
    if skipped:
        out["skippedBytes"] = skipped
    if len(lines) > limit:
        lines = lines[-limit:]
        out["truncated"] = True
    out["lines"] = lines
    return out


def _read_lines(seg: Segment, offset: int, last: bool) -> tuple[bytes, int]:
    """The whole lines of `seg` from `offset` (a partial first line dropped; for the newest file an
    unfinished last line left for the next read), and the stream position after them."""
    begin = max(0, offset - 1)  # one byte before: was `offset` the start of a line?
    data = _pread_all(seg.fd, seg.size - begin, begin)
    if offset > 0:
        if data[:1] != b"\n":
            nl = data.find(b"\n", 1)
            if nl < 0:
                return b"", seg.base + offset
            offset, data = begin + nl + 1, data[nl + 1:]
        else:
            data = data[1:]
    if last:
        data = data[: data.rfind(b"\n") + 1]
        return data, seg.base + offset + len(data)
    return data, seg.end


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        try:
            chunk = os.pread(fd, size - got, offset + got)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
