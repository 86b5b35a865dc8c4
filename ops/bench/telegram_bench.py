"""Telegram channel component benchmark: updates/s through getUpdates -> spool -> run -> sendMessage with
the channel alone (no gateway): TelegramChannel in this process with a fake host whose runs answer at once
(`Echo: <text>`), the fake Bot API (tests/fakes/telegram_api.py) in its own process.

    python ops/bench/telegram_bench.py [--burst 2000] [--users 100] [--latency 200] [--json]

  latency  one DM at a time: inject -> the reply's sendMessage arriving at the fake (CLOCK_MONOTONIC, shared
           by both processes): long-poll answer, spool commit, dispatch, run, chunking, sendMessage
  burst    --burst DMs from --users users injected at once (one control call): time until every reply
           arrived; updates/s; each text's replies counted (0 missing, 0 repeated)

What the channel adds on top of a real gateway is in ops/bench/channel_bench.py (the whole path with the
agent worker). Loopback only; the fake is stopped (by PID) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from openclaw.workers.channel.telegram.channel import TelegramChannel

from tests.component.telegram_kit import FakeHost
from tests.fakes.telegram_api import spawn

TOKEN = "111:AAA"


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


class Fake:
    """The fake Bot API in a subprocess, driven through its /_fake control endpoints."""

    def __init__(self) -> None:
        self.proc, self.url = spawn(TOKEN, cwd=str(REPO))
        self.since = 0
        self.http: aiohttp.ClientSession | None = None

    async def _json(self, method: str, path: str, body: Any = None) -> Any:
        if self.http is None:
            self.http = aiohttp.ClientSession(trust_env=False)
        async with self.http.request(method, self.url + path, json=body, timeout=aiohttp.ClientTimeout(total=60)) as r:
            return await r.json()

    async def inject(self, dms: list[tuple[int, str]]) -> None:
        await self._json("POST", "/_fake/inject", {"dms": [{"user_id": u, "text": t} for u, t in dms]})

    async def replies(self) -> list[dict[str, Any]]:
        out = await self._json("GET", f"/_fake/calls?method=sendMessage&since={self.since}")
        self.since = out["next"]
        return out["calls"]

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def wait_replies(fake: Fake, texts: set[str], timeout: float) -> dict[str, list[float]]:
    seen: dict[str, list[float]] = {t: [] for t in texts}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in await fake.replies():
            body = str(call["payload"].get("text", ""))
            key = body.removeprefix("Echo: ")
            if key in seen:
                seen[key].append(call["at"])
        if all(seen.values()):
            break
        await asyncio.sleep(0.005)
    return seen


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = Fake()
    tmp = tempfile.TemporaryDirectory(prefix="telegram-bench-")
    host = FakeHost(Path(tmp.name), {"botToken": TOKEN, "apiRoot": fake.url, "dmPolicy": "open", "allowFrom": ["*"]})
    channel = TelegramChannel(host)  # type: ignore[arg-type]
    result: dict[str, Any] = {"burst": args.burst, "users": args.users, "latency_samples": args.latency}
    try:
        await channel.start()
        await fake.inject([(900 + i, f"warm-{i}") for i in range(20)])
        await wait_replies(fake, {f"warm-{i}" for i in range(20)}, 30)
        lat: list[float] = []
        for i in range(args.latency):
            text = f"lat-{i}"
            t0 = time.monotonic()
            await fake.inject([(1000 + i % 10, text)])
            got = (await wait_replies(fake, {text}, 30))[text]
            if got:
                lat.append((got[0] - t0) * 1000)
        result["latency_ms"] = {"p50": round(pct(lat, 0.5), 2), "p99": round(pct(lat, 0.99), 2),
                                "max": round(max(lat), 2) if lat else None, "n": len(lat)}
        texts = [f"burst-{i}" for i in range(args.burst)]
        t0 = time.monotonic()
        await fake.inject([(2000 + i % args.users, t) for i, t in enumerate(texts)])
        injected = time.monotonic() - t0
        seen = await wait_replies(fake, set(texts), 300)
        last = max((max(v) for v in seen.values() if v), default=t0)
        result["burst_result"] = {
            "inject_s": round(injected, 3), "all_replied_s": round(last - t0, 3),
            "updates_per_s": round(args.burst / (last - t0), 1) if last > t0 else None,
            "missing": sum(1 for v in seen.values() if not v), "repeated": sum(1 for v in seen.values() if len(v) > 1),
            "runs": len(host.executions),
        }
    finally:
        await channel.stop()
        await fake.close()
        tmp.cleanup()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--burst", type=int, default=2000)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--latency", type=int, default=200)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=None if args.json else 2))


if __name__ == "__main__":
    main()
