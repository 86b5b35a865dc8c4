"""python -m ops.chaos: fault injection under load for openclaw-gateway (see ops/chaos/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from .report import add_load_checks, passed, render, to_json
from .runner import Run
from .scenarios import SCENARIOS
from .target import DEFAULT_FAULTS
from .wire import check_loopback_url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = ", ".join(SCENARIOS)
    p = argparse.ArgumentParser(
        prog="python -m ops.chaos",
        description="Apply a bounded load to an openclaw gateway while a scenario injects faults; report what the clients saw. "
        "Exit 0 when every pass criterion held, 1 otherwise, 2 on bad usage.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--spawn", action="store_true", help="start a gateway of our own (temp home, "
                       f"OPENCLAW_FAULTS={DEFAULT_FAULTS}), run, stop it, remove the temp home")
    where.add_argument("--url", help="a running gateway on this host, ws://127.0.0.1:PORT (loopback only)")
    p.add_argument("--token", default=os.environ.get("OPENCLAW_GATEWAY_TOKEN"), help="gateway token for --url "
                   "(default $OPENCLAW_GATEWAY_TOKEN)")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help=f"scenario to run (repeatable or comma-separated): all, {names}")
    p.add_argument("--clients", type=int, default=20, help="WebSocket load clients")
    p.add_argument("--rate", type=float, default=5.0, help="requests per second per client")
    p.add_argument("--http-rate", type=float, default=20.0, help="HTTP probes per second (/readyz, /healthz alternately; 0: none)")
    p.add_argument("--methods", default="health,sessions.list,node.list", help="methods the clients cycle through")
    p.add_argument("--reloads", type=int, default=10, help="edits in reload-hot and reload-worker")
    p.add_argument("--frontend-restarts", type=int, default=3, help="gateway.terminal edits in reload-frontend")
    p.add_argument("--repeat", type=int, default=2, help="faults per worker in kill-worker and stop-worker "
                   "(kill + stop together above 5 per worker within 30 s make it FATAL: the crash policy)")
    p.add_argument("--restarts", type=int, default=3, help="SIGUSR1 restarts in the restart scenario")
    p.add_argument("--gap", type=float, default=0.3, help="pause between two faults or edits, seconds")
    p.add_argument("--baseline", type=float, default=3.0, help="seconds of load before the first scenario")
    p.add_argument("--drain", type=float, default=12.0, help="seconds to wait for answers still owed when the load stops "
                   "(a worker call's deadline is 10 s)")
    p.add_argument("--scenario-timeout", type=float, default=120.0, help="a scenario still running after this is abandoned")
    p.add_argument("--openclaw", default=str(Path(sys.executable).parent / "openclaw"), help="the openclaw executable for --spawn")
    p.add_argument("--faults", default=None, help=f"--spawn: the OPENCLAW_FAULTS to start it with (default {DEFAULT_FAULTS}); "
                   "--url: the OPENCLAW_FAULTS that gateway was started with (it cannot be read back from the process), "
                   "crash-loop runs only if it has channel:crashy=exit-on-start")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--verbose", action="store_true", help="tracebacks for scenario errors")
    opts = p.parse_args(argv)

    chosen: list[str] = []
    for item in opts.scenario or ["all"]:
        for name in filter(None, (x.strip() for x in item.split(","))):
            if name == "all":
                chosen.extend(n for n in SCENARIOS if n not in chosen)
            elif name in SCENARIOS:
                if name not in chosen:
                    chosen.append(name)
            else:
                p.error(f"unknown scenario {name!r} (all, {names})")
    opts.scenarios = [n for n in SCENARIOS if n in chosen]  # always the canonical order
    opts.methods = [m.strip() for m in opts.methods.split(",") if m.strip()]
    if opts.url:
        try:
            check_loopback_url(opts.url)
        except ValueError as exc:
            p.error(str(exc))
        if not opts.token:
            p.error("--url needs --token (or OPENCLAW_GATEWAY_TOKEN)")
    if opts.clients < 1 or opts.rate <= 0 or opts.http_rate < 0:
        p.error("--clients must be >= 1, --rate > 0, --http-rate >= 0")
    return opts


async def _main(opts: argparse.Namespace) -> Run:
    run = Run(opts)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, task.cancel)  # interrupted: the run's cleanup still happens
    try:
        await run.main()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    return run


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    try:
        run = asyncio.run(_main(opts))
    except asyncio.CancelledError:
        print("chaos: interrupted; what it started was stopped and the config restored", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - set-up failures: say what, exit 1
        print(f"chaos: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    add_load_checks(run)
    print(render(run))
    if opts.json:
        Path(opts.json).write_text(json.dumps(to_json(run), indent=2, default=str) + "\n")
        print(f"full report: {opts.json}")
    return 0 if passed(run) else 1


if __name__ == "__main__":
    sys.exit(main())
