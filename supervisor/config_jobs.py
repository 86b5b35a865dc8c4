"""The supervisor's config thread: file checks and config.get/apply/patch run there one at a time
(so two writes never race and the loop never blocks on a file), and each result comes back to the
loop as a command. A change noticed while a check runs is checked again once it is done."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from openclaw.ipc import control
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.config_file import LoadedConfig
from openclaw.ipc.errors import ErrorShape, GatewayError, internal_error
from openclaw.ipc.logs import get_logger

from .bootstrap import StartPlan, resolve
from .commands import Command, ConfigChecked, ConfigReplyReady
from .config_rpc import config_get, config_write
from .config_state import Candidate, read_candidate

log = get_logger("supervisor/config")


class ConfigJobs:
    def __init__(self, plan: StartPlan, enqueue: Callable[[Command], None]) -> None:
        self.plan = plan
        self.enqueue = enqueue
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="config")
        self.checking = False
        self.again: bool | None = None  # a further check is due; its value is `forced`

    def _run(self, job: Callable[[], Any], done: Callable[[Future[Any]], Command]) -> None:
        fut = asyncio.get_running_loop().run_in_executor(self.pool, job)
        fut.add_done_callback(lambda f: self.enqueue(done(f)))

    def check(self, purpose: str, current: ResolvedGateway, forced: bool = False) -> None:
        """Read and judge the file; ConfigChecked(purpose) follows."""
        if purpose == "reload":
            self.checking = True
        opts, paths = self.plan.opts, self.plan.paths
        self._run(
            lambda: read_candidate(opts, paths, current),
            lambda f: ConfigChecked(
                f.result() if f.exception() is None else Candidate(error=f"config check failed: {f.exception()!r}"),
                purpose, forced,
            ),
        )

    def file_changed(self, current: ResolvedGateway, forced: bool) -> None:
        if self.checking:
            self.again = bool(self.again) or forced
        else:
            self.check("reload", current, forced)

    def checked(self, current: ResolvedGateway) -> None:
        """A reload check is done: start the one that was asked for meanwhile, if any."""
        self.checking = False
        if self.again is not None:
            forced, self.again = self.again, None
            self.check("reload", current, forced)

    def get(self, identity: bytes, query_id: int, last_good: LoadedConfig, gateway: ResolvedGateway) -> None:
        path = self.plan.paths.config_path
        self._run(
            lambda: config_get(path, last_good, gateway),
            lambda f: ConfigReplyReady(identity, query_id, False, *_result(f)),
        )

    def write(self, identity: bytes, msg: control.ConfigWrite, current: ResolvedGateway) -> None:
        opts, paths = self.plan.opts, self.plan.paths
        self._run(
            lambda: config_write(
                paths.config_path, msg.mode, msg.raw, msg.base_hash, lambda loaded: resolve(opts, paths, loaded, current),
                msg.deadline,
            ),
            lambda f: ConfigReplyReady(identity, msg.query_id, True, *_result(f)),
        )

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _result(fut: Future[Any]) -> tuple[bytes | None, ErrorShape | None, Candidate | None]:
    """A config-thread result as (payload, error, candidate)."""
    exc = fut.exception()
    if exc is None:
        value = fut.result()
        return (value[0], None, value[1]) if isinstance(value, tuple) else (value, None, None)
    if isinstance(exc, GatewayError):
        return None, exc.shape(), None
    log.error("config request failed", error=repr(exc))
    return None, internal_error("config"), None
