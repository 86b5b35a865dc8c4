"""The log file can be written, and the disks holding the logs and the state have room."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from .context import DoctorContext
from .model import FAIL, OK, WARN, Finding

MIB = 1024 * 1024
WARN_FREE_BYTES = 1024 * MIB  # below 1 GiB: warn
FAIL_FREE_BYTES = 100 * MIB  # below 100 MiB: fail (rotation needs room; SQLite WAL and config writes too)


def check(ctx: DoctorContext) -> list[Finding]:
    return [_log_dir(ctx), *_disk(ctx)]


def nearest_existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path("/")


def _log_dir(ctx: DoctorContext) -> Finding:
    log_file = ctx.log_file
    folder = log_file.parent
    hint = "set logging.file to a path of yours (`" + ctx.invocation() + " config set logging.file <path>`)"
    if not folder.exists():
        base = nearest_existing(folder)
        if os.access(base, os.W_OK | os.X_OK):
            return Finding("logs.dir", OK, f"log folder {folder} does not exist yet; {base} lets the gateway create it")
        return Finding("logs.dir", FAIL, f"log folder {folder} does not exist and {base} is not writable: the gateway "
                       "logs to stderr only", hint)
    try:
        st = folder.stat()
    except OSError as exc:
        return Finding("logs.dir", FAIL, f"log folder {folder} cannot be read: {exc.strerror or exc}", hint)
    if not os.access(folder, os.W_OK | os.X_OK):
        return Finding("logs.dir", FAIL, f"log folder {folder} is not writable by you: the gateway logs to stderr only", hint)
    shared = folder == Path(tempfile.gettempdir()) / "openclaw"  # the default folder anyone could create first
    if shared and (os.path.islink(folder) or st.st_uid != os.getuid()):
        return Finding("logs.dir", FAIL, f"log folder {folder} is a symlink or belongs to uid {st.st_uid}: the gateway "
                       "refuses a shared log folder it does not own and logs to stderr only", hint)
    if log_file.exists():
        try:
            lst = os.lstat(log_file)
        except OSError as exc:
            return Finding("logs.dir", FAIL, f"log file {log_file} cannot be read: {exc.strerror or exc}", hint)
        if stat.S_ISLNK(lst.st_mode) or lst.st_uid != os.getuid():
            return Finding("logs.dir", FAIL, f"log file {log_file} is a symlink or not yours: the gateway will not "
                           "open it and logs to stderr only", f"remove it, or {hint}")
        if not os.access(log_file, os.W_OK):
            return Finding("logs.dir", FAIL, f"log file {log_file} is not writable", f"chmod 600 {log_file}")
    return Finding("logs.dir", OK, f"log file {log_file} is writable")


def disk_verdict(free: int) -> str:
    if free < FAIL_FREE_BYTES:
        return FAIL
    if free < WARN_FREE_BYTES:
        return WARN
    return OK


def _disk(ctx: DoctorContext) -> list[Finding]:
    out: list[Finding] = []
    seen: set[int] = set()
    for what, path in (("logs", ctx.log_file.parent), ("state", ctx.paths.state_dir)):
        base = nearest_existing(path)
        try:
            dev = base.stat().st_dev
            usage = shutil.disk_usage(base)
        except OSError as exc:
            out.append(Finding(f"disk.{what}", WARN, f"cannot read the free space under {base}: {exc.strerror or exc}"))
            continue
        if dev in seen:
            continue
        seen.add(dev)
        verdict = disk_verdict(usage.free)
        msg = f"{usage.free / (1024 * MIB):.1f} GiB free on the disk of {base} ({what})"
        if verdict == OK:
            out.append(Finding(f"disk.{what}", OK, msg))
        else:
            need = "100 MiB" if verdict == FAIL else "1 GiB"
            out.append(Finding(f"disk.{what}", verdict, msg + f": below {need}",
                               "free some space (old logs: `ls -lS " + str(ctx.log_file.parent) + "`)"))
    return out
