"""`openclaw gateway discover [--timeout ms] [--json]`: find gateways announcing `_openclaw-gw._tcp`
over multicast DNS-SD (`local.`) and print their beacons (spec §8).

    {"timeoutMs": 2000, "domains": ["local."], "count": N, "beacons": [{…, "wsUrl": "ws://host:port"}]}

`--json | jq '.beacons[].wsUrl'` lists the URLs. Nothing found is not an error (exit 0); a usage
mistake exits 2, a network that cannot do multicast exits 1.
"""

from __future__ import annotations

import asyncio
from typing import Any

from openclaw.ipc.errors import ExitCode

from .discover_beacons import collect, render_human
from .output import fail, print_json

MAX_TIMEOUT_MS = 60_000


def discover_cmd(timeout_ms: int, json_: bool) -> None:
    if not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
        fail(f"gateway discover: --timeout must be 1..{MAX_TIMEOUT_MS} ms (got {timeout_ms})", ExitCode.USAGE)
    from .discover_mdns import browse

    try:
        resolved = asyncio.run(browse(timeout_ms / 1000))
    except OSError as exc:
        fail(f"gateway discover: multicast DNS is not available here: {exc.strerror or exc}")
    beacons = collect(resolved)
    result: dict[str, Any] = {"timeoutMs": timeout_ms, "domains": ["local."], "count": len(beacons), "beacons": beacons}
    if json_:
        print_json(result)
    else:
        print("\n".join(render_human(result)))
