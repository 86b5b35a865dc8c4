"""The config the gateway runs on: the last good one, what an edit did, and what is wrong with
the file right now. Reading and judging the file (`read_candidate`) runs in a worker thread;
everything else runs on the supervisor's loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec

from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.config_file import ConfigFileError, LoadedConfig, load_config
from openclaw.ipc.control import ReloadStatus
from openclaw.ipc.errors import ConfigRefusal
from openclaw.ipc.launch import LaunchOptions
from openclaw.ipc.logs import get_logger
from openclaw.ipc.paths import Paths

from .bootstrap import resolve

log = get_logger("supervisor/config")


@dataclass(frozen=True)
class Candidate:
    """One reading of the config file: usable (loaded + gateway) or not (error)."""

    loaded: LoadedConfig | None = None
    gateway: ResolvedGateway | None = None
    error: str | None = None
    line: int | None = None
    column: int | None = None


def read_candidate(opts: LaunchOptions, paths: Paths, current: ResolvedGateway) -> Candidate:
    """Read, parse, validate and resolve the file (thread-safe; writes nothing)."""
    try:
        loaded = load_config(paths.config_path)
        if not loaded.exists and not opts.allow_unconfigured:
            return Candidate(error=f"{paths.config_path} is missing")
        return Candidate(loaded=loaded, gateway=resolve(opts, paths, loaded, current))
    except ConfigFileError as exc:
        return Candidate(error=str(exc), line=exc.line, column=exc.column)
    except ConfigRefusal as exc:
        return Candidate(error=str(exc))
    except Exception as exc:  # never let a file take the supervisor down
        log.error("config check failed unexpectedly", error=repr(exc))
        return Candidate(error=f"cannot check {paths.config_path}: {type(exc).__name__}")


class ConfigState:
    """`loaded` is the config the processes run with (the *applied* one); with changes pending
    (reload mode hot or off) it keeps the old values at those paths. The last good file is known
    by its hash (`status.last_good_hash`)."""

    def __init__(self, loaded: LoadedConfig, gateway: ResolvedGateway) -> None:
        self.loaded = loaded
        self.gateway = gateway
        self.status = ReloadStatus(
            mode=gateway.reload_mode, path=loaded.path, last_good_hash=loaded.hash, applied_hash=loaded.hash,
            status="off" if gateway.reload_mode == "off" else "ok",
        )
        self._json: bytes | None = None

    @property
    def data(self) -> dict[str, Any]:
        return self.loaded.data

    @property
    def mode(self) -> str:
        return self.gateway.reload_mode

    def config_json(self) -> bytes:
        """The last good config as JSON, for Configure/ApplyConfig."""
        if self._json is None:
            self._json = msgspec.json.encode(self.loaded.data)
        return self._json

    def is_current(self, candidate: Candidate) -> bool:
        """The file is the last good one we saw (whatever part of it is pending)."""
        return candidate.loaded is not None and candidate.loaded.hash == self.status.last_good_hash

    def reject(self, candidate: Candidate) -> bool:
        """Record an unusable file; True when this is news (worth a log line)."""
        st = self.status
        news = (st.error, st.line, st.column) != (candidate.error, candidate.line, candidate.column)
        st.status, st.error, st.line, st.column = "error", candidate.error, candidate.line, candidate.column
        return news

    def accept(
        self, applied: LoadedConfig, gateway: ResolvedGateway, file_hash: str,
        paths: list[str], actions: list[str], pending: list[str],
    ) -> None:
        """Take a valid file: `applied` is what now runs (the file itself unless changes are pending)."""
        self.loaded = applied
        self.gateway = gateway
        self._json = None
        st = self.status
        st.mode = gateway.reload_mode
        st.status = "off" if st.mode == "off" else "ok"
        st.error = st.line = st.column = None
        st.last_good_hash = file_hash
        st.applied_hash = file_hash if not pending else None
        st.pending_restart = sorted(set(pending))
        st.last_change_ms = int(time.time() * 1000)
        st.last_paths = paths[:50]
        st.last_actions = actions

    @property
    def pending(self) -> bool:
        return bool(self.status.pending_restart)

    def restarted(self) -> None:
        """After an in-process restart the file as read at the restart runs, whole."""
        self.status.pending_restart = []
        self.status.applied_hash = self.loaded.hash
