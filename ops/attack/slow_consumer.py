"""(f) A client that stops reading while events flow: how much the gateway holds for it before it
cuts it, and how it says so. Events come from `system-event` upserts (each one broadcasts the
presence list, up to 256 entries)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from .rawws import RawWS, frame
from .target import Target

CUT_LINE = re.compile(r'"closing slow consumer".*?"buffered":(\d+)')


async def attack_slow_consumer(t: Target, timeout: float = 60.0) -> dict[str, Any]:
    if t.token is None:
        return {"error": "needs a token-auth gateway"}
    loop = asyncio.get_running_loop()
    slow = await RawWS.open(t.host, t.port, rcvbuf=32 * 1024)
    hello = await slow.hello(t.token)
    advertised = hello["payload"]["policy"]["maxBufferedBytes"]
    log_start = len(t.log_text())
    driver = await RawWS.open(t.host, t.port)
    await driver.hello(t.token)
    started = loop.time()
    buffered: int | None = None
    n = 0

    async def drain_driver() -> None:
        while True:
            await driver.recv_frame(30)

    reader = asyncio.create_task(drain_driver())
    try:
        while loop.time() - started < timeout:
            for _ in range(20):
                n += 1
                text = "e" * 4000
                req = {"type": "req", "id": f"s{n}", "method": "system-event",
                       "params": {"text": text, "instanceId": f"attack-{n % 256}"}}
                await driver.send(frame(json.dumps(req).encode()))
            await asyncio.sleep(0.02)
            m = CUT_LINE.search(t.log_text()[log_start:])
            if m:
                buffered = int(m.group(1))
                break
        took = loop.time() - started
        code, reason = await slow.until_close(10)  # read what it holds for us, then its close frame
    finally:
        reader.cancel()
        slow.close()
        driver.close()
    if buffered is None:
        return {"figure": f"not cut within {timeout:.0f} s (advertised maxBufferedBytes {advertised:,})",
                "advertised": advertised}
    return {
        "figure": f"cut at {buffered:,} bytes buffered after {took:.1f} s (advertised maxBufferedBytes {advertised:,}); "
                  f"close {code} {reason!r}",
        "buffered_at_cut": buffered, "advertised": advertised, "close": [code, reason],
    }
