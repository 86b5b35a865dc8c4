"""Signal handlers that only enqueue; the loop decides what a signal means."""

from __future__ import annotations

import asyncio
import signal

from .commands import Command, SignalReceived

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP)


def install(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Command]) -> None:
    for sig in HANDLED:
        loop.add_signal_handler(sig, queue.put_nowait, SignalReceived(int(sig)))


def uninstall(loop: asyncio.AbstractEventLoop) -> None:
    for sig in HANDLED:
        loop.remove_signal_handler(sig)
