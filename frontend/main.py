"""Boot of the front-end process (`python -m openclaw.frontend`).

Adopt the listening sockets the supervisor passed, get configuration over the
control socket, serve, and on drain: stop accepting (the kernel keeps queueing
on the supervisor's socket for the next front-end), tell clients `shutdown`,
close them 1012, exit 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import setproctitle
import zmq.asyncio
from aiohttp import web

from openclaw.ipc import logs
from openclaw.ipc.child_link import SupervisorLink

from .app import build_app
from .context import Frontend

SHUTDOWN_TIMEOUT_S = 2.0


async def serve() -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)  # restarts are the supervisor's job
    ctx = zmq.asyncio.Context()
    link = SupervisorLink(ctx)
    setproctitle.setproctitle("openclaw-gateway: frontend")
    cfg = await link.hello()
    logs.configure(cfg.gateway.log_file, "frontend", verbose=cfg.gateway.verbose)
    fe = Frontend(ctx, link, cfg)
    fe.drain_callbacks.append(stop.set)
    link.start()
    fe.start()
    runner = web.AppRunner(build_app(fe), handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    sites = []
    for fd in filter(None, os.environ.get("OPENCLAW_LISTEN_FDS", "").split(",")):
        site = web.SockSite(runner, socket.socket(fileno=int(fd)), backlog=1024)
        await site.start()
        sites.append(site)
    if not sites:
        sys.stderr.write("openclaw frontend: no listening sockets were passed\n")
        return 1
    link.ready()
    fe.log.info("frontend serving", pid=os.getpid(), sockets=len(sites))
    await stop.wait()

    drain = fe.drain_request
    reason = drain.reason if drain else "gateway stopping"
    fe.draining = True
    fe.log.info("frontend draining", reason=reason, connections=len(fe.hub.sessions))
    for site in sites:
        await site.stop()
    await fe.hub.shutdown_all(reason, drain.restart_expected_ms if drain else None)
    await runner.cleanup()
    fe.router.close()
    link.close()
    ctx.term()
    return 0


def main() -> None:
    try:
        import uvloop

        code = uvloop.run(serve())
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
