"""(b) WebSocket upgrades from one peer that never send `connect`: how many the gateway holds."""

from __future__ import annotations

import asyncio
from typing import Any

from .rawws import RawWS, UpgradeRefused
from .target import Target


async def attack_preauth_connections(t: Target, attempts: int = 200) -> dict[str, Any]:
    held: list[RawWS] = []
    refused: dict[str, int] = {}
    retry_after: set[str] = set()
    try:
        for _ in range(attempts):  # one after the other: the count is exact
            try:
                ws = await RawWS.open(t.host, t.port)
                await ws.recv_json()  # the challenge: the server holds it
                held.append(ws)
            except UpgradeRefused as exc:
                body = exc.json() or {}
                kind = f"HTTP {exc.status} {(body.get('error') or {}).get('type', '')}".strip()
                refused[kind] = refused.get(kind, 0) + 1
                if "retry-after" in exc.headers:
                    retry_after.add(exc.headers["retry-after"])
            except (OSError, EOFError, asyncio.TimeoutError) as exc:
                refused[type(exc).__name__] = refused.get(type(exc).__name__, 0) + 1
        still_open = 0
        for ws in held:  # a held connection is one the server has not ended
            if not ws.reader.at_eof():
                still_open += 1
    finally:
        for ws in held:
            ws.close()
    return {
        "figure": f"{still_open} of {attempts} pre-auth connections held from 127.0.0.1; refused: "
                  + (", ".join(f"{n}× {k}" for k, n in refused.items()) or "none"),
        "held": still_open, "refused": refused, "retry_after": sorted(retry_after),
    }
