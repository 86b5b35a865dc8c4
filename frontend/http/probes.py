"""Liveness, readiness and start-up probes: /health(z), /ready(z), /startup(z)."""

from __future__ import annotations

import time

from aiohttp import web

from .responses import json_response
from ..appkeys import FRONTEND


async def live(request: web.Request) -> web.Response:
    return json_response({"ok": True, "status": "live"})


async def ready(request: web.Request) -> web.Response:
    fe = request.app[FRONTEND]
    failing = [f"worker:{name}" for name in fe.router.not_ready()]
    if fe.draining:
        failing.insert(0, "frontend:draining")
    body = {
        "ready": not failing,
        "failing": failing,
        "uptimeMs": int((time.monotonic() - fe.started_mono) * 1000),
        "eventLoop": fe.loop_monitor.snapshot(),
    }
    return json_response(body, status=200 if not failing else 503)


async def startup(request: web.Request) -> web.Response:
    fe = request.app[FRONTEND]
    return json_response(
        {
            "ok": True,
            "status": "started",
            "version": fe.version,
            "uptimeMs": int((time.monotonic() - fe.started_mono) * 1000),
        }
    )


ROUTES = {
    "/health": live, "/healthz": live,
    "/ready": ready, "/readyz": ready,
    "/startup": startup, "/startupz": startup,
}
PATHS = frozenset(ROUTES)


def add_routes(app: web.Application) -> None:
    for path, handler in ROUTES.items():
        app.router.add_get(path, handler)
