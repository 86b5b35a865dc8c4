"""Entry point of the supervisor process (`python -m openclaw.supervisor`).

`openclaw gateway run` execs this with its options in OPENCLAW_LAUNCH_OPTIONS.
Everything that can refuse the start happens before any socket opens.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import NoReturn

import msgspec
import setproctitle

from openclaw.ipc import launch, logs
from openclaw.ipc.errors import ConfigRefusal, ExitCode, StartFailure
from openclaw.ipc.paths import prepare_runtime_dir

from .bootstrap import prepare
from .instance import StateLock
from .listener import ListenerStore, bind_with_retry
from .tailscale_exposure import TailscaleExposure

BIND_RETRY_S = float(os.environ.get("OPENCLAW_BIND_RETRY_S", "5"))


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()
    raise SystemExit(code)


def main() -> None:
    raw = os.environ.pop(launch.LAUNCH_ENV, "{}")
    try:
        opts = launch.decoder.decode(raw)
    except msgspec.DecodeError as exc:
        _fail(f"openclaw gateway: bad launch options: {exc}", ExitCode.USAGE)
    try:
        plan = prepare(opts)
        profile = plan.paths.profile or "default"
        setproctitle.setproctitle(f"openclaw-gateway: supervisor [{profile}]")
        logs.configure_gateway(plan.gateway, "supervisor")
        for notice in plan.notices:
            print(notice, flush=True)
        log = logs.get_logger("gateway", console=False)  # each warning is printed on stderr here
        for warning in plan.warnings:
            sys.stderr.write(warning + "\n")
            log.warn(warning)
        sys.stderr.flush()
        lock = StateLock(plan.paths.lock_file)
        lock.acquire()
        prepare_runtime_dir(plan.paths.runtime_dir())
        listeners = bind_with_retry(
            plan.gateway.bind_hosts, plan.gateway.port, force=opts.force, retry_s=BIND_RETRY_S, home=plan.paths.home
        )
    except ConfigRefusal as exc:
        _fail(f"openclaw gateway: {exc}", ExitCode.CONFIG)
    except StartFailure as exc:
        _fail(str(exc), ExitCode.FAILURE)
    plan.gateway.port = listeners[0].getsockname()[1]
    exposure = TailscaleExposure(plan.gateway.tailscale_mode, plan.gateway.tailscale_reset_on_exit)
    try:
        exposure.start(plan.gateway.port)
    except StartFailure as exc:
        for sock in listeners:
            sock.close()
        _fail(str(exc), ExitCode.FAILURE)

    from .loop import Supervisor  # zmq and psutil only once we are really starting

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    try:
        code = runner(Supervisor(plan, ListenerStore(listeners), lock).run())
    finally:
        exposure.stop()
    raise SystemExit(code)
