"""Append whole lines to a log stream that several processes write, and rotate it safely.

Every process of a gateway (supervisor, front-end, workers) has its own descriptor on the same
file, opened O_APPEND: each line is one write(2), so lines from different processes never mix.

Rotation (ipc/log_files.py names) is coordinated by a lock file next to the log
(`.<name>.lock`, StreamLock below):
* a line is written holding the lock *shared*, after checking that the descriptor is still the
  file the name points at (else the process reopens the name first). So no line is ever written
  into a file after it was renamed away, and none is lost or written twice;
* the process whose line would take the file past `max_file_bytes` takes the lock *exclusive*,
  checks again (another process may have rotated it meanwhile: then it only reopens), renames
  the file to `.1` (shifting the older ones, deleting the oldest), creates the new file with a
  header line saying where it continues from (its `logBase`, read by ipc/log_tail.py), prunes
  what the stream must not keep, and writes its line;
* at local midnight a rolling log switches to the new date's file the same way.

Every wait for the lock is bounded (a process stopped while holding it must not stall the
others): past the bound the line is written anyway and the lock is left alone for a while.
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from . import log_files
from .log_files import Rotation
from .log_tail import span
from .paths import default_log_dir

# Bounds on waiting for the lock, below the 0.8 s after which a silent child is judged hung.
# Past them the line is written anyway, and the lock is left alone for a while: 50 ms, doubling
# with each failure in a row up to 5 s (a holder that is stopped must not cost every line a wait;
# a busy machine must not put rotation off for long).
SHARED_WAIT_S = 0.3
EXCLUSIVE_WAIT_S = 0.15
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 5.0


def _backoff(failures: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(failures, 10))


Header = Callable[[str, int], bytes]  # (previous file name, stream base) -> the header line


class LogFileRefused(OSError):
    """The log file, its lock or the shared log folder is not safely ours."""


def _check_folder(folder: Path) -> None:
    """Missing folders are made 0700. The shared default folder (`/tmp/openclaw`, which anyone
    could have created first) must be a real folder of ours, and is tightened to 0700."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder == default_log_dir():
        st = os.lstat(folder)
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise LogFileRefused(f"the log folder {folder} is a symlink or not a folder")
        if st.st_uid != os.getuid():
            raise LogFileRefused(f"the log folder {folder} belongs to another user (uid {st.st_uid})")
        if st.st_mode & 0o077:
            os.chmod(folder, 0o700)


def _open_ours(path: Path, flags: int) -> int:
    """Open with O_NOFOLLOW (a symlink is refused, not followed); it must be a regular file of ours."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LogFileRefused(f"{path} is a symlink") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise LogFileRefused(f"{path} is not a regular file of ours (uid {st.st_uid})")
    return fd


def _lockf(fd: int, op: int, byte: int, within_s: float) -> bool:
    """Take one byte-range lock, polling (100 µs doubling to 2 ms) for at most `within_s`."""
    deadline = time.monotonic() + within_s
    pause = 0.0001
    while True:
        try:
            fcntl.lockf(fd, op | fcntl.LOCK_NB, 1, byte)
            return True
        except (BlockingIOError, PermissionError):
            if time.monotonic() >= deadline:
                return False
        except OSError:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.002)


class StreamLock:
    """The lock file of a stream, as two byte-range locks: a *gate* (byte 0) and the *file*
    (byte 1). A writer passes the gate shared, takes the file shared and leaves the gate at once;
    a rotator takes the gate exclusive (no new writer gets in) and then the file exclusive (the
    writers inside finish their line). So a rotation waits for one line, never for a stream of
    writers that keep the file shared."""

    GATE, FILE = 0, 1

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def shared(self) -> bool:
        if not _lockf(self.fd, fcntl.LOCK_SH, self.GATE, SHARED_WAIT_S):
            return False
        try:
            return _lockf(self.fd, fcntl.LOCK_SH, self.FILE, SHARED_WAIT_S)
        finally:
            self._unlock(self.GATE)

    def exclusive(self) -> bool:
        return self.try_exclusive() == "ok"

    def try_exclusive(self) -> str:
        """"ok"; "busy" (another process is rotating); "stuck" (a writer did not finish its line)."""
        if not _lockf(self.fd, fcntl.LOCK_EX, self.GATE, EXCLUSIVE_WAIT_S):
            return "busy"
        if _lockf(self.fd, fcntl.LOCK_EX, self.FILE, EXCLUSIVE_WAIT_S):
            return "ok"
        self._unlock(self.GATE)
        return "stuck"

    def release_shared(self) -> None:
        self._unlock(self.FILE)

    def release(self) -> None:
        self._unlock(self.FILE)
        self._unlock(self.GATE)

    def _unlock(self, byte: int) -> None:
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, byte)
        except OSError:
            pass

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def _next_midnight() -> float:
    tomorrow = _dt.date.today() + _dt.timedelta(days=1)
    return _dt.datetime.combine(tomorrow, _dt.time()).timestamp()


class SharedLogFile:
    """One process's writer of a log stream (`path` is a rolling name or a fixed one)."""

    def __init__(self, path: Path, rolling: bool, rotation: Rotation, header: Header) -> None:
        self.template = path
        self.rolling = rolling
        self.rotation = rotation
        self.header = header
        self.path = log_files.active_file(path, rolling)
        self.fd: int | None = None
        self.ident: tuple[int, int] | None = None  # (st_dev, st_ino) of what fd is
        self.lock: StreamLock | None = None
        self.lock_problem: str | None = None  # why rotation is off (the lock could not be opened)
        self.switch_at = _next_midnight() if rolling else float("inf")
        self.unlocked_until = 0.0  # monotonic: write without the lock until then
        self.rotate_after = 0.0  # monotonic: no rotation attempt before then
        self.rotation_problem: str | None = None
        self.unlocked_writes = 0  # lines written without the lock (its holder was stuck)
        self.skipped_rotations = 0  # rotations put off because the lock was not had in time
        self.shared_failures = 0  # in a row
        self.rotate_failures = 0  # in a row

    # ------------------------------------------------------------------ open / close

    def open(self) -> None:
        """Open (or create) the file; raises LogFileRefused or OSError."""
        _check_folder(self.path.parent)
        try:
            self.lock = StreamLock(_open_ours(log_files.lock_file(self.template, self.rolling), os.O_RDWR | os.O_CREAT))
        except (OSError, LogFileRefused) as exc:
            self.lock = None
            self.lock_problem = str(exc) if isinstance(exc, LogFileRefused) else (exc.strerror or str(exc))
        self._reopen()
        if self.lock is not None and self.lock.exclusive():
            try:
                log_files.prune(self.path, self.rolling, self.rotation)
            finally:
                self.lock.release()

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
        if self.lock is not None:
            self.lock.close()
        self.fd, self.lock, self.ident = None, None, None

    def _reopen(self) -> None:
        """Point fd at the file the name names now, creating it (with its header) if missing."""
        try:
            fd = _open_ours(self.path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            fd = self._create()
        st = os.fstat(fd)
        if self.fd is not None:
            os.close(self.fd)
        self.fd, self.ident = fd, (st.st_dev, st.st_ino)

    def _create(self) -> int:
        """Create the file, its header already in it, under the exclusive lock."""
        lock = self.lock if self.lock is not None and self.lock.exclusive() else None
        try:
            try:  # created by another process while we waited for the lock
                return _open_ours(self.path, os.O_WRONLY | os.O_APPEND)
            except FileNotFoundError:
                pass
            return self._create_locked()
        finally:
            if lock is not None:
                lock.release()

    def _create_locked(self, continues: tuple[str, int] | None = None) -> int:
        """A new file that continues the stream (`continues`: the previous file's name and the
        stream position after it; by default the newest other file kept). It is written whole
        under a temporary name and linked into place, so no reader sees it without its header."""
        if continues is None:
            older = [f.path for f in log_files.stream_files(self.template, self.rolling) if f.path != self.path]
            prev = span(older[-1]) if older else None
            continues = (older[-1].name, prev[1]) if prev is not None else None
        if continues is None or continues[1] <= 0:
            return _open_ours(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        fd = _open_ours(tmp, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, self.header(*continues))
            os.link(tmp, self.path)  # never over a file another process made meanwhile (no lock)
        except FileExistsError:
            os.close(fd)
            fd = _open_ours(self.path, os.O_WRONLY | os.O_APPEND)
        except OSError:
            os.close(fd)
            raise
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return fd

    # ------------------------------------------------------------------ writing

    def append(self, line: bytes) -> None:
        """Write one whole line (raises OSError when the write fails, e.g. a full disk)."""
        if time.time() >= self.switch_at:
            self._switch_day()
        lock = self.lock
        now = time.monotonic()
        if lock is None or now < self.unlocked_until:  # no lock (or a stuck holder): O_APPEND only
            self._write_unlocked(line)
            return
        if self._write_shared(lock, line, allow_over=now < self.rotate_after):
            return
        outcome = self._rotate_and_write(lock, line)
        if outcome == "ok":
            self.rotate_failures = 0
            return
        if outcome == "stuck":  # a writer holds the file: do not wait for it on every line
            self.rotate_after = time.monotonic() + _backoff(self.rotate_failures)
            self.rotate_failures += 1
        self.skipped_rotations += 1
        # "busy": another process is rotating it; once it is done the line goes to the new file
        if outcome == "stuck" or not self._write_shared(lock, line, allow_over=False):
            self._write_shared(lock, line, allow_over=True)

    def _write_shared(self, lock: StreamLock, line: bytes, allow_over: bool) -> bool:
        """Under the shared lock, into the file the name points at now (reopened if another process
        rotated it); False when the file must be rotated (or created) first."""
        if not lock.shared():  # its holder is stuck (stopped?): write without it for a while
            self.unlocked_until = time.monotonic() + _backoff(self.shared_failures)
            self.shared_failures += 1
            self._write_unlocked(line)
            return True
        self.shared_failures = 0
        try:
            current = self._name_ident()
            if current is not None and current[:2] != self.ident:
                self._reopen_existing()  # another process rotated it: continue in the new file
                current = self._name_ident()
            if current is None or current[:2] != self.ident:
                if not allow_over:
                    return False  # missing (deleted?): created under the exclusive lock
            elif not allow_over and self._too_big(current[2], len(line)):
                return False
            self._write(line)
            return True
        finally:
            lock.release_shared()

    def _write_unlocked(self, line: bytes) -> None:
        self.unlocked_writes += self.lock is not None
        self._write(line)

    def _too_big(self, size: int, adding: int) -> bool:
        return size > 0 and size + adding > self.rotation.max_file_bytes

    def _write(self, line: bytes) -> None:
        if self.fd is None:
            raise OSError(errno.EBADF, "the log file is not open")
        os.write(self.fd, line)

    def _name_ident(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size

    def _reopen_existing(self) -> None:
        try:
            self._replace_fd(_open_ours(self.path, os.O_WRONLY | os.O_APPEND))
        except (OSError, LogFileRefused):
            pass  # gone again or replaced by something not ours: the exclusive path decides

    def _rotate_and_write(self, lock: StreamLock, line: bytes) -> str:
        """Under the exclusive lock: reopen if another process rotated it, rotate if still too big,
        write. Else (the lock not had in time, nothing written) why: "busy" or "stuck"."""
        outcome = lock.try_exclusive()
        if outcome != "ok":
            return outcome
        try:
            current = self._name_ident()
            if current is None or current[:2] != self.ident:
                self._reopen_locked()  # another process rotated it (or it was deleted)
                current = self._name_ident()
            if current is not None and self._too_big(current[2], len(line)):
                self._rotate_locked(current[2])
            self._write(line)
            return "ok"
        finally:
            lock.release()

    def _rotate_locked(self, size: int) -> None:
        this = span(self.path)
        try:
            log_files.rotate(self.path, self.rotation.max_files)
            moved_to = log_files.rotated_name(self.path, 1) if self.rotation.max_files else self.path
            self._replace_fd(self._create_locked((moved_to.name, this[1] if this is not None else size)))
        except (OSError, LogFileRefused) as exc:
            self.rotate_after = time.monotonic() + BACKOFF_MAX_S  # keep writing where we are
            self.rotation_problem = str(exc)
            if not os.path.lexists(self.path):
                self._reopen_locked()
            return
        log_files.prune(self.path, self.rolling, self.rotation)

    def _reopen_locked(self) -> None:
        try:
            fd = _open_ours(self.path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            fd = self._create_locked()
        self._replace_fd(fd)

    def _replace_fd(self, fd: int) -> None:
        st = os.fstat(fd)
        if self.fd is not None:
            os.close(self.fd)
        self.fd, self.ident = fd, (st.st_dev, st.st_ino)

    def _switch_day(self) -> None:
        """Local midnight: continue in the new date's file."""
        self.switch_at = _next_midnight()
        new_path = log_files.active_file(self.template, self.rolling)
        if new_path == self.path:
            return
        self.path = new_path
        if self.lock is not None and self.lock.exclusive():
            try:
                self._reopen_locked()
                log_files.prune(self.path, self.rolling, self.rotation)
            finally:
                self.lock.release()
        else:
            self._reopen()
