"""Is process `pid` a child of our supervisor? Asked of the kernel, not of the peer that claims it.

A worker's Register names its pid; the front-end accepts it only when that pid is a live
child of the supervisor (its parent pid in /proc), and no other registered worker has it.
Together with the ROUTER refusing a second connection with an identity in use, a local
process that connects to the workers socket cannot pass itself off as a worker by copying
a number. (A same-user process that races a real worker's own registration could; the
runtime dir's 0700 mode is the boundary against other users.) Where there is no /proc
(not Linux) the check cannot be made and passes.
"""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def parent_of(pid: int) -> int | None:
    """The parent pid of `pid`, None when it does not exist (or /proc cannot say)."""
    if pid <= 0:
        return None
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)", which may hold spaces
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def is_child_of(pid: int, parent_pid: int) -> bool:
    if not PROC.is_dir():
        return True
    return parent_of(pid) == parent_pid
