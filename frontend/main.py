"""Boot of the front-end process (`python -m openclaw.frontend`).

Adopt the listening sockets the supervisor passed, get configuration over the control
socket, serve, and on Drain (or SIGTERM) shut down in order (drain.py). A front-end whose
supervisor is gone is orphaned: nobody will hand its clients over, so it closes them with
1012 and exits at once.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import socket
import sys

import setproctitle
import zmq
from aiohttp import web

from openclaw.ipc import control, logs
from openclaw.ipc.child_link import SupervisorLink, install_stop_signals
from openclaw.ipc.faults import faults_for

from .app import build_app
from .drain import drain
from .http.server import GatewayRunner
from .http.tls_site import make_site, ssl_context_for
from .library_logs import route_library_logs
from .methods import LOCAL_METHODS
from .services import Services
from .ws.dispatch import Dispatcher

SHUTDOWN_TIMEOUT_S = 2.0
WORKERS_WAIT_S = 3.0


async def serve() -> int:
    faults = faults_for("frontend")
    if faults is not None:
        faults.on_start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    install_stop_signals(loop, stop.set, faults)
    setproctitle.setproctitle("openclaw-gateway: frontend")
    log = logs.get_logger("gateway")
    ctx = zmq.Context()
    link = SupervisorLink(ctx, log)
    drain_request: list[control.Drain] = []
    link.on(control.Drain, lambda msg: (drain_request.append(msg), stop.set()))
    link.on_orphaned = stop.set
    cfg = await link.hello(stop)
    if cfg is None:  # told to stop before we were configured
        link.close()
        ctx.term()
        return 0
    g = cfg.gateway
    logs.configure_gateway(g, "frontend")
    route_library_logs()
    link.start_heartbeat()
    runner: GatewayRunner | None = None
    sites: list[web.BaseSite] = []
    try:
        svc = Services(ctx, link, cfg, list(LOCAL_METHODS))
        svc.settings.on_change.append(lambda msg: logs.configure_gateway(msg.gateway, "frontend"))
        dispatcher = Dispatcher(svc, faults)
        runner = GatewayRunner(
            build_app(svc, dispatcher), handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        if not await svc.workers_registered(WORKERS_WAIT_S):
            log.warn("not every running worker registered in time; serving anyway")
        tls = ssl_context_for(g)  # gateway.tls: https + wss on the same sockets
        for fd in filter(None, os.environ.get("OPENCLAW_LISTEN_FDS", "").split(",")):
            site = make_site(runner, socket.socket(fileno=int(fd)), tls)
            await site.start()
            sites.append(site)
        if not sites:
            raise RuntimeError("no listening sockets were passed")
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        sys.stderr.write(f"openclaw frontend: cannot start: {reason}\n")
        link.boot_failed(reason)
        await asyncio.sleep(0.05)  # let the message leave
        link.close()
        return 1
    if faults is not None and faults.slow_ready_ms:
        await asyncio.sleep(faults.slow_ready_ms / 1000)
    link.ready()
    log.info("frontend serving", pid=os.getpid(), sockets=len(sites), tls=tls is not None)
    await stop.wait()

    orphaned = link.orphaned
    req = drain_request[0] if drain_request else None
    reason = req.reason if req else "gateway stopping"
    log.info("frontend draining", reason=reason, connections=len(svc.hub.connections), orphaned=orphaned)
    await drain(runner, sites, svc, dispatcher, reason, req.restart_expected_ms if req else None, fast=orphaned)
    link.close()
    ctx.term()
    return 0


def main() -> None:
    faulthandler.enable()
    try:
        import uvloop

        code = uvloop.run(serve())
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
