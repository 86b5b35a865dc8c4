"""The front-end's ordered shutdown, for a stop, a restart or a replacement:

1. stop accepting: the listening socket stays open in the supervisor, so the kernel keeps
   queueing new connections for the next front-end (none is refused);
2. connections already accepted but still silent get a short window to send their request,
   which is answered (HTTP 503 on a WebSocket upgrade), never dropped unanswered;
3. every WebSocket client gets `shutdown {reason, restartExpectedMs?}`; requests already taken
   are answered (worker calls waited for, bounded), new ones get a retryable UNAVAILABLE; then
   close 1012: no request is left without an answer;
4. aiohttp finishes in-flight HTTP requests (bounded) and closes the rest.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from openclaw.ipc import frames

from .services import Services
from .ws.dispatch import Dispatcher

FRESH_WAIT_S = 1.0
INFLIGHT_WAIT_S = 1.0
CLOSE_WAIT_S = 2.0


async def _answer_fresh(runner: web.AppRunner, timeout: float) -> None:
    server = runner.server
    if server is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # aiohttp counts requests per connection; 0 means accepted but nothing asked yet
        fresh = [h for h in server.connections if getattr(h, "_request_count", 1) == 0]
        if not fresh:
            return
        await asyncio.sleep(0.02)


async def _close_clients(
    svc: Services, dispatcher: Dispatcher, reason: str, restart_expected_ms: int | None, inflight_s: float, timeout: float
) -> None:
    payload: dict[str, object] = {"reason": reason}
    if restart_expected_ms is not None:
        payload["restartExpectedMs"] = restart_expected_ms
    svc.hub.broadcast("shutdown", frames.encode(payload))
    deadline = time.monotonic() + inflight_s
    while (svc.router.pending or dispatcher.tasks) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for conn in list(svc.hub.connections):
        conn.close_soon(1012, "service restart")
    deadline = time.monotonic() + timeout
    while svc.hub.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    for conn in list(svc.hub.connections):
        conn.abort()


async def drain(
    runner: web.AppRunner, sites: list[web.BaseSite], svc: Services, dispatcher: Dispatcher, reason: str,
    restart_expected_ms: int | None, *, fast: bool = False,
) -> None:
    svc.draining = True
    for site in sites:
        await site.stop()
    await _answer_fresh(runner, 0.2 if fast else FRESH_WAIT_S)
    await _close_clients(
        svc, dispatcher, reason, restart_expected_ms, 0.1 if fast else INFLIGHT_WAIT_S, 0.3 if fast else CLOSE_WAIT_S
    )
    await runner.cleanup()
