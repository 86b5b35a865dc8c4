"""Liveness, readiness and start-up probes: /health(z), /ready(z), /startup(z).

/healthz is 200 while the front-end serves at all; /readyz is 503 while any child is not
serving (starting, backing off, FATAL: named, with the reason) or the front-end drains.
"""

from __future__ import annotations

from aiohttp import web
from openclaw.ipc.control_ui_links import PROBE_PATHS

from ..appkeys import SERVICES
from .responses import expect_handler, json_response


async def live(request: web.Request) -> web.Response:
    return json_response({"ok": True, "status": "live"})


async def ready(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    failing = svc.tree.failing()
    if svc.tree.state is None:
        failing.insert(0, "supervisor: no process table yet")
    if svc.draining:
        failing.insert(0, "frontend: draining")
    body = {
        "ready": not failing,
        "failing": failing,
        "degraded": svc.tree.degraded(),
        "uptimeMs": svc.uptime_ms(),
        "children": [{"name": p.name, "state": p.state, "reason": p.reason} for p in svc.tree.children],
        "eventLoop": svc.loop_monitor.snapshot(),
    }
    return json_response(body, status=200 if not failing else 503)


async def startup(request: web.Request) -> web.Response:
    """200 once every child has been up; 503 while starting (clients wait) or draining."""
    svc = request.app[SERVICES]
    body: dict[str, object] = {"version": svc.version, "uptimeMs": svc.uptime_ms()}
    if svc.draining:
        return json_response({"ok": False, "status": "draining", **body}, status=503)
    if not svc.tree.started:
        pending = ", ".join(p.name for p in svc.tree.required_not_ready()) or "supervisor"
        return json_response({"ok": False, "status": "starting", "pendingReason": f"starting {pending}", **body}, status=503)
    return json_response({"ok": True, "status": "started", **body})


ROUTES = {
    "/health": live, "/healthz": live,
    "/ready": ready, "/readyz": ready,
    "/startup": startup, "/startupz": startup,
}
PATHS = frozenset(ROUTES)
assert PATHS == PROBE_PATHS, "ipc/control_ui_links.PROBE_PATHS keeps the probe paths out of the Control UI"


def add_routes(app: web.Application) -> None:
    for path, handler in ROUTES.items():
        app.router.add_get(path, handler, expect_handler=expect_handler)
