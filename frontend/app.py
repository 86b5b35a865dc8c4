"""The aiohttp Application: WebSocket upgrades on any path, probes, JSON errors. The front-end's
resources (worker router, timers) start and stop with the app's cleanup context."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from openclaw.ipc.logs import get_logger

from .appkeys import DISPATCHER, ORIGIN_POLICY, PREAUTH_SLOTS, SERVICES
from .http import api_routes, channel_inbound, control_ui, probes
from .http.responses import SECURITY_HEADERS, expect_handler, json_error
from .services import Services
from .ws.dispatch import Dispatcher
from .ws.guarded_ws import GuardedWebSocketResponse
from .ws.limits import MAX_PAYLOAD, PREAUTH_MAX_BYTES
from .ws.origin_policy import OriginPolicy
from .ws.preauth_slots import PreauthSlots
from .ws.session import Session

WS_HEARTBEAT_S = 30.0
PREAUTH_RETRY_AFTER_S = 5

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = get_logger("gateway/ws")


def _refuse_upgrade(request: web.Request, svc: Services) -> web.Response | None:
    """Refusals before the upgrade, cheapest first: method, Origin, drain, capacity."""
    if request.method != "GET":
        return json_error(405, "WebSocket upgrades must use GET", "method_not_allowed", headers={"Allow": "GET"})
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    port = sockname[1] if sockname else svc.settings.gateway.port
    if not request.app[ORIGIN_POLICY].allows(request.headers.get("Origin"), port, svc.settings):
        log.debug("websocket upgrade refused: origin not allowed", origin=request.headers.get("Origin", "")[:200], peer=request.remote)
        return json_error(403, "origin not allowed (gateway.controlUi.allowedOrigins)", "origin_not_allowed")
    if svc.draining:
        return json_error(503, "gateway is restarting; retry shortly", "unavailable", headers={"Retry-After": "2"})
    if svc.hub.full:
        return json_error(503, "too many connections", "unavailable", headers={"Retry-After": "5"})
    return None


async def ws_endpoint(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICES]
    refused = _refuse_upgrade(request, svc)
    if refused is not None:
        return refused
    slot = request.app[PREAUTH_SLOTS].claim(request.remote or "")  # held until hello-ok or the close
    if slot is None:
        return json_error(
            429, "too many unauthenticated connections from this address; finish a connect first", "rate_limited",
            headers={"Retry-After": str(PREAUTH_RETRY_AFTER_S)},
        )
    try:
        ws = GuardedWebSocketResponse(
            preauth_limit=PREAUTH_MAX_BYTES, limit=MAX_PAYLOAD, on_authenticated=slot.release,
            compress=False, heartbeat=WS_HEARTBEAT_S, decode_text=False,
        )
        try:
            await ws.prepare(request)
        except web.HTTPException as exc:  # not a valid upgrade (no key, wrong version, ...)
            return json_error(exc.status, f"bad websocket upgrade: {exc.text or exc.reason}"[:300], "invalid_request_error")
        try:
            await Session(svc, request.app[DISPATCHER], ws, request).run()
        except Exception as exc:  # our bug: the client still gets a close code
            log.error("websocket session failed", error=repr(exc), traceback="".join(traceback.format_exception(exc)))
            if not ws.closed:
                await ws.close(code=1011, message=b"internal error")
        return ws
    finally:
        slot.release()


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
    hooked = await api_routes.maybe_hook(request)  # hooks live under the hot `hooks.path`
    if hooked is not None:
        return hooked
    inbound = await channel_inbound.maybe_inbound(request)  # channels' inbound paths are hot config too
    if inbound is not None:
        return inbound
    if request.path in probes.PATHS:  # a probe path with another method
        return json_error(405, "Method Not Allowed", "method_not_allowed", headers={"Allow": "GET, HEAD"})
    ui = await control_ui.maybe_control_ui(request, request.app[SERVICES])  # the Control UI and its SPA routes
    if ui is not None:
        return ui
    return json_error(404, "Not Found", "not_found")


def build_app(svc: Services, dispatcher: Dispatcher) -> web.Application:
    app = web.Application(middlewares=[edge], client_max_size=2 * 1024 * 1024)
    app[SERVICES] = svc
    app[DISPATCHER] = dispatcher
    app[ORIGIN_POLICY] = OriginPolicy()
    app[PREAUTH_SLOTS] = PreauthSlots()

    async def services_ctx(_app: web.Application) -> AsyncIterator[None]:
        svc.start()
        yield
        svc.close()

    app.cleanup_ctx.append(services_ctx)
    probes.add_routes(app)
    api_routes.add_routes(app)
    channel_inbound.install(app)
    control_ui.install(app)
    app.router.add_route("*", "/{tail:.*}", not_found, expect_handler=expect_handler)
    return app
