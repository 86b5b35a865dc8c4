"""Watches the active config file and says when it changed, debounced (~250 ms of quiet).

watchfiles (inotify) watches the file's folder, so editors that save by writing a temp
file and renaming it over the config are seen like in-place writes; a symlinked config is
watched at its target too. If inotify is unavailable the watcher polls the file's
(inode, size, mtime) instead: it never takes the supervisor down (field report R13).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from openclaw.ipc.logs import get_logger

log = get_logger("supervisor/watch")
STEP_MS = 250  # quiet time that ends a burst of changes
MAX_BURST_MS = 1500
POLL_S = 0.5


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ConfigWatcher:
    def __init__(self, path: Path, on_change: Callable[[], None]) -> None:
        self.path = path
        self.on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="config-watch")

    def _targets(self) -> tuple[set[Path], set[str]]:
        names = {str(self.path)}
        dirs = {self.path.parent}
        try:
            real = self.path.resolve()
            names.add(str(real))
            dirs.add(real.parent)
        except OSError:
            pass
        return {d for d in dirs if d.is_dir()}, names

    async def _run(self) -> None:
        try:
            import watchfiles

            dirs, names = self._targets()
            if not dirs:
                raise FileNotFoundError(str(self.path.parent))
            async for changes in watchfiles.awatch(
                *dirs,
                watch_filter=lambda _change, p: p in names,
                step=STEP_MS,
                debounce=MAX_BURST_MS,
                recursive=False,
                stop_event=self._stop,
            ):
                if changes:
                    self.on_change()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warn("inotify watch unavailable; polling the config file instead", error=repr(exc))
            await self._poll()

    async def _poll(self) -> None:
        last = _signature(self.path)
        while not self._stop.is_set():
            await asyncio.sleep(POLL_S)
            sig = _signature(self.path)
            if sig != last:
                last = sig
                await asyncio.sleep(STEP_MS / 1000)  # let a burst of writes settle
                last = _signature(self.path)
                self.on_change()

    def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
