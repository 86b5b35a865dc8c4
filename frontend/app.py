"""The aiohttp Application: WebSocket upgrades on any path, probes, JSON errors. The front-end's
resources (worker router, timers) start and stop with the app's cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from .appkeys import DISPATCHER, SERVICES
from .http import probes
from .http.responses import SECURITY_HEADERS, json_error
from .services import Services
from .ws.dispatch import Dispatcher
from .ws.limits import MAX_PAYLOAD
from .ws.session import Session

WS_HEARTBEAT_S = 30.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def ws_endpoint(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    if svc.draining:
        return json_error(503, "gateway is restarting; retry shortly", "unavailable", headers={"Retry-After": "2"})
    if svc.hub.full:
        return json_error(503, "too many connections", "unavailable", headers={"Retry-After": "5"})
    ws = web.WebSocketResponse(compress=False, max_msg_size=MAX_PAYLOAD, heartbeat=WS_HEARTBEAT_S, decode_text=False)
    await ws.prepare(request)
    await Session(svc, request.app[DISPATCHER], ws, request).run()
    return ws


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    """WS upgrade wins on any path; every other answer gets security headers and JSON errors."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await ws_endpoint(request)
    try:
        resp = await handler(request)
    except web.HTTPMethodNotAllowed as exc:
        resp = json_error(405, "Method Not Allowed", "method_not_allowed", headers={"Allow": ", ".join(sorted(exc.allowed_methods))})
    except web.HTTPNotFound:
        resp = json_error(404, "Not Found", "not_found")
    except web.HTTPException as exc:
        resp = json_error(exc.status, exc.reason, "http_error")
    if not resp.prepared:
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
    return resp


async def not_found(request: web.Request) -> web.StreamResponse:
    if request.path in probes.PATHS:  # a probe path with another method
        return json_error(405, "Method Not Allowed", "method_not_allowed", headers={"Allow": "GET, HEAD"})
    return json_error(404, "Not Found", "not_found")


def build_app(svc: Services, dispatcher: Dispatcher) -> web.Application:
    app = web.Application(middlewares=[edge], client_max_size=2 * 1024 * 1024)
    app[SERVICES] = svc
    app[DISPATCHER] = dispatcher

    async def services_ctx(_app: web.Application) -> AsyncIterator[None]:
        svc.start()
        yield
        svc.close()

    app.cleanup_ctx.append(services_ctx)
    probes.add_routes(app)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
