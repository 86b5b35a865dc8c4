"""Children die with their supervisor: PR_SET_PDEATHSIG plus a ppid check for the race."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(expected_ppid: int, sig: int = signal.SIGTERM) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        except OSError:
            pass
    if os.getppid() != expected_ppid:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def parent_alive(expected_ppid: int) -> bool:
    return os.getppid() == expected_ppid
