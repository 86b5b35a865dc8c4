"""Telegram channel benchmark (issue 9): updates per second through poll -> run -> reply, and the
latency the gateway adds, with the offline provider (`openclaw-local`, an echo) and the local fake
Bot API (tests/fakes/telegram_api.py) in its own process.

    python ops/bench/channel_bench.py [--latency 100] [--burst 500] [--users 50] [--dm-scope S] [--json]

It starts its own gateway (isolated HOME under a temp dir, loopback, random port) with
`channels.telegram` (dmPolicy open) pointed at the fake and `session.dmScope` (default per-channel-peer:
one session per sender; with "main" every sender shares one session, whose runs run one at a time),
then measures:
  latency  one DM at a time: inject -> the reply's sendMessage arriving at the fake (both clocks
           are CLOCK_MONOTONIC); everything in between is the gateway (the fake answers at once,
           the offline provider needs ~1 ms): getUpdates answer, spool, run, reply
  burst    --burst DMs from --users users injected at once: time until every reply arrived,
           updates/s, 0 lost and 0 repeated (each text's reply counted)
Loopback only; everything it starts is stopped (by PID) at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.fakes.telegram_api import spawn  # noqa: E402
from tests.harness import Gateway, Home  # noqa: E402

TOKEN = "111:AAA"


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


class FakeProcess:
    def __init__(self) -> None:
        self.proc, self.url = spawn(TOKEN, cwd=str(REPO))
        self.since = 0

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def inject(self, user_id: int, text: str) -> None:
        self._call("POST", "/_fake/inject", {"dm": {"user_id": user_id, "text": text}})

    def new_calls(self, method: str) -> list[dict[str, Any]]:
        out = self._call("GET", f"/_fake/calls?method={method}&since={self.since}")
        self.since = out["next"]
        return out["calls"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_replies(fake: FakeProcess, texts: set[str], timeout: float) -> dict[str, list[float]]:
    """text -> arrival times (fake's monotonic clock) of replies containing it."""
    seen: dict[str, list[float]] = {t: [] for t in texts}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in fake.new_calls("sendMessage"):
            body = call["payload"].get("text", "")
            for t in texts:
                if t in body:
                    seen[t].append(call["at"])
        if all(seen.values()):
            return seen
        time.sleep(0.005)
    return seen


def run(args: argparse.Namespace) -> dict[str, Any]:
    fake = FakeProcess()
    tmp = tempfile.TemporaryDirectory(prefix="channel-bench-")
    home = Home(Path(tmp.name))
    cfg = home.default_config()
    cfg["channels"] = {"telegram": {"botToken": TOKEN, "apiRoot": fake.url, "dmPolicy": "open", "allowFrom": ["*"]}}
    cfg["agents"] = {"defaults": {"maxConcurrent": 64}}
    cfg["session"] = {"dmScope": args.dm_scope}  # "main" puts every sender in one session: its runs queue
    cfg["logging"]["level"] = "warn"
    home.write_config(cfg)
    gw = Gateway(home, ["--port", "0"])
    result: dict[str, Any] = {"latency_samples": args.latency, "burst": args.burst, "users": args.users,
                              "dmScope": args.dm_scope}
    try:
        gw.start()
        gw.wait_ready()
        for i in range(5):  # warm-up (and the worker is polling)
            fake.inject(900 + i, f"warm-{i}-x")
        wait_replies(fake, {f"warm-{i}-x" for i in range(5)}, 30)
        lat: list[float] = []
        for i in range(args.latency):
            text = f"lat-{i}-x"
            t0 = time.monotonic()
            fake.inject(1000 + i % 10, text)
            got = wait_replies(fake, {text}, 30)[text]
            if got:
                lat.append((got[0] - t0) * 1000)
        result["latency_ms"] = {"p50": round(pct(lat, 0.5), 1), "p99": round(pct(lat, 0.99), 1),
                                "max": round(max(lat), 1) if lat else None, "n": len(lat)}
        texts = {f"burst-{i}-x" for i in range(args.burst)}
        t0 = time.monotonic()
        for i in range(args.burst):
            fake.inject(2000 + i % args.users, f"burst-{i}-x")
        injected = time.monotonic() - t0
        seen = wait_replies(fake, texts, 120)
        last = max((max(v) for v in seen.values() if v), default=t0)
        result["burst_result"] = {
            "inject_s": round(injected, 2), "all_replied_s": round(last - t0, 2),
            "updates_per_s": round(args.burst / (last - t0), 1) if last > t0 else None,
            "missing": sum(1 for v in seen.values() if not v), "repeated": sum(1 for v in seen.values() if len(v) > 1),
        }
    finally:
        gw.stop()
        fake.stop()
        tmp.cleanup()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--latency", type=int, default=100)
    p.add_argument("--burst", type=int, default=500)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--dm-scope", default="per-channel-peer", choices=["main", "per-peer", "per-channel-peer"])
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    print(json.dumps(run(args), indent=None if args.json else 2))


if __name__ == "__main__":
    main()
