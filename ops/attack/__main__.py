"""python -m ops.attack: run the front-door attacks against a throwaway gateway (`--spawn`) or one
running on this host (`--url`, loopback only), and print the figure each one measured."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ops.chaos.wire import check_loopback_url

from .brute_force import attack_brute_force
from .malformed import attack_malformed
from .origin import attack_foreign_origin
from .oversize import attack_oversize_preauth
from .preauth_conns import attack_preauth_connections
from .slow_consumer import attack_slow_consumer
from .slowloris import attack_slowloris
from .target import SpawnedGateway, Target

ATTACKS = {
    "a": "pre-auth 25 MiB frames (RSS)",
    "b": "pre-auth connections from one peer",
    "c": "slowloris (HTTP head 1 byte / 5 s)",
    "d": "malformed frames (log volume, close codes)",
    "e": "foreign Origin, auth mode none",
    "f": "slow consumer",
    "brute": "wrong-token guesses per minute",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ops.attack", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Front-door attacks on an openclaw gateway (loopback only); prints one figure per attack. "
        + "; ".join(f"{k}: {v}" for k, v in ATTACKS.items()),
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--spawn", action="store_true", help="start throwaway gateways in a temp home (token auth; "
                       "a second one with auth none for e), stop them by PID at the end")
    where.add_argument("--url", help="a gateway running on this host, ws://127.0.0.1:PORT")
    p.add_argument("--token", default=os.environ.get("OPENCLAW_GATEWAY_TOKEN"), help="token for --url")
    p.add_argument("--log", action="append", default=[], help="--url: the gateway's log file(s), for d and f")
    p.add_argument("--only", default="a,b,c,d,e,f,brute", help="comma list of attacks")
    p.add_argument("--frames", type=int, default=10, help="a: 25 MiB frames")
    p.add_argument("--preauth-attempts", type=int, default=200, help="b: upgrades tried")
    p.add_argument("--slowloris-connections", type=int, default=300, help="c: connections")
    p.add_argument("--slowloris-check", type=float, default=11.0, help="c: seconds after opening to count open ones")
    p.add_argument("--malformed-seconds", type=float, default=3.0, help="d: duration")
    p.add_argument("--brute-seconds", type=float, default=5.0, help="brute: duration")
    p.add_argument("--brute-parallel", type=int, default=8, help="brute: connections")
    p.add_argument("--openclaw", default=str(Path(sys.executable).parent / "openclaw"), help="--spawn: the openclaw executable")
    p.add_argument("--json", metavar="PATH", help="write every result as JSON here")
    opts = p.parse_args(argv)
    opts.attacks = [a.strip() for a in opts.only.split(",") if a.strip()]
    for a in opts.attacks:
        if a not in ATTACKS:
            p.error(f"unknown attack {a!r} ({', '.join(ATTACKS)})")
    if opts.url:
        try:
            check_loopback_url(opts.url)
        except ValueError as exc:
            p.error(str(exc))
    return opts


async def run(opts: argparse.Namespace, t: Target, open_target: Callable[[], Target] | None) -> dict[str, Any]:
    jobs: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "a": lambda: attack_oversize_preauth(t, opts.frames),
        "b": lambda: attack_preauth_connections(t, opts.preauth_attempts),
        "c": lambda: attack_slowloris(t, opts.slowloris_connections, check_at=opts.slowloris_check),
        "d": lambda: attack_malformed(t, opts.malformed_seconds),
        "e": lambda: attack_foreign_origin(open_target() if open_target else t),
        "f": lambda: attack_slow_consumer(t),
        "brute": lambda: attack_brute_force(t.url, "wrong-" + (t.token or "token"), opts.brute_seconds, opts.brute_parallel),
    }
    results: dict[str, Any] = {}
    for name in ATTACKS:
        if name not in opts.attacks:
            continue
        print(f"[attack] {name}: {ATTACKS[name]} ...", file=sys.stderr, flush=True)
        try:
            results[name] = await jobs[name]()
        except Exception as exc:  # noqa: BLE001 - one attack failing must not hide the others
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        await asyncio.sleep(0.5)  # let the gateway settle between attacks
    return results


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    spawned: list[SpawnedGateway] = []
    try:
        if opts.spawn:
            gw = SpawnedGateway(opts.openclaw).start()
            spawned.append(gw)
            target = gw.target()

            def open_target() -> Target:
                none = SpawnedGateway(opts.openclaw, auth_mode="none").start()
                spawned.append(none)
                return none.target()

            opener: Callable[[], Target] | None = open_target
        else:
            host, port = check_loopback_url(opts.url)
            target = Target(host, port, opts.token, [Path(p) for p in opts.log])
            opener = None
        results = asyncio.run(run(opts, target, opener))
    except KeyboardInterrupt:
        return 130
    finally:
        for gw in spawned:
            gw.stop()
            gw.remove()
    width = max(len(v) for v in ATTACKS.values())
    for name, res in results.items():
        print(f"{name:>5}  {ATTACKS[name]:<{width}}  {res.get('figure') or res.get('error')}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
