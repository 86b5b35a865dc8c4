"""Guesses per minute against the shared token: `parallel` connections each sending a wrong-token
`connect` (client cli/cli) again and again; counts what answers them. The auth rate limiter
(S1: at most 10 guesses a minute per key) is another engineer's work; this measures it."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from .rawws import RawWS, UpgradeRefused


async def attack_brute_force(url: str, token_wrong: str, seconds: float = 5.0, parallel: int = 8) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 18789
    answered: dict[str, int] = {}
    started = time.monotonic()

    async def guesser() -> None:
        while time.monotonic() - started < seconds:
            try:
                ws = await RawWS.open(host, port)
            except UpgradeRefused as exc:
                key = f"HTTP {exc.status}"
                answered[key] = answered.get(key, 0) + 1
                await asyncio.sleep(0.05)
                continue
            except (OSError, asyncio.TimeoutError):
                answered["connect-failed"] = answered.get("connect-failed", 0) + 1
                continue
            try:  # the gateway closes after each refused connect, so one guess per connection
                res = await ws.hello(token_wrong)
                err = res.get("error") or {}
                key = (err.get("details") or {}).get("code") or err.get("code") or "hello-ok"
            except (OSError, EOFError, asyncio.TimeoutError):
                key = "no-answer"
            finally:
                ws.close()
            answered[key] = answered.get(key, 0) + 1

    await asyncio.gather(*(guesser() for _ in range(parallel)))
    minutes = (time.monotonic() - started) / 60
    mismatch = answered.get("AUTH_TOKEN_MISMATCH", 0) + answered.get("AUTH_PASSWORD_MISMATCH", 0)
    limited = answered.get("AUTH_RATE_LIMITED", 0)
    per_min = mismatch / minutes
    print(f"brute force: {per_min:,.0f} wrong guesses answered per minute "
          f"({mismatch} AUTH_TOKEN_MISMATCH, {limited} AUTH_RATE_LIMITED in {minutes * 60:.1f} s, {parallel} connections)")
    return {
        "figure": f"{per_min:,.0f} guesses answered per minute ({mismatch} mismatch, {limited} rate-limited, {parallel} parallel)",
        "guesses_per_minute": round(per_min), "answered": answered,
    }
