"""Agent-run benchmark (issue 8 §6): the gateway's added latency to the first token and a
100-run streaming load, against a local fake provider streaming a fixed 200-word answer at full
speed (tests/fakes/provider_servers.py in a subprocess, OpenAI Chat Completions wire format).

    python ops/bench/agent_bench.py [--samples 200] [--concurrent 100] [--json]

It starts its own gateway (isolated HOME under a temp dir, loopback, random port) with
`chatCompletions` enabled and `agents.defaults.maxConcurrent` = --concurrent, and measures:
  direct   POST fake /v1/chat/completions (stream) -> first content chunk       (the baseline)
  ws       WS `agent` request -> first `agent` assistant event                   (through the gateway)
  http     POST gateway /v1/chat/completions stream -> first content chunk      (through the gateway)
  load     --concurrent simultaneous HTTP streams: errors, aggregate tokens/s (completion tokens the
           provider reported, from the usage chunk: the gateway merges deltas that arrive together),
           front-end RSS and /ready `eventLoop` (delayP99Ms, delayMaxMs) sampled during the load.
Added latency = gateway p50/p99 minus direct p50/p99. Loopback only; everything it starts is
stopped (by PID) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
import websockets  # noqa: E402

from tests.harness import TOKEN, Gateway, Home  # noqa: E402
from tests.wsclient import connect_params  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


def start_fake(words: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.provider_servers", "--port", "0", "--words", str(words)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "READY":
        proc.kill()
        raise SystemExit("fake provider did not start")
    return proc, int(line[1])


async def first_chunk(session: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[float, int]:
    """(seconds to the first content chunk, content chunks in all) of one SSE stream."""
    t0 = time.perf_counter()
    first = 0.0
    n = 0
    usage_tokens = 0
    async with session.post(url, json={**body, "stream_options": {"include_usage": True}}, headers=headers) as resp:
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {(await resp.text())[:200]}")
        async for raw in resp.content:
            line = raw.strip()
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError(chunk["error"].get("message"))
            if chunk.get("usage"):
                usage_tokens = int(chunk["usage"].get("completion_tokens") or 0)
            if chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                n += 1
                if not first:
                    first = time.perf_counter() - t0
    return first, usage_tokens or n


async def ws_first_tokens(port: int, samples: int) -> list[float]:
    out = []
    async with websockets.connect(f"ws://127.0.0.1:{port}", max_size=None, compression=None) as ws:
        await ws.recv()  # connect.challenge
        await ws.send(json.dumps({"type": "req", "id": "c", "method": "connect", "params": connect_params()}))
        while json.loads(await ws.recv()).get("id") != "c":
            pass
        for i in range(samples):
            rid = f"r{i}"
            key = f"bench-ws-{uuid.uuid4()}"
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "req", "id": rid, "method": "agent", "params": {
                "message": "go", "idempotencyKey": key, "sessionKey": f"agent:main:{key}"}}))
            first = 0.0
            while True:
                f = json.loads(await ws.recv())
                if not first and f.get("event") == "agent" and f["payload"].get("stream") == "assistant":
                    first = time.perf_counter() - t0
                if f.get("type") == "res" and f.get("id") == rid and (f.get("payload") or {}).get("status") != "accepted":
                    if not f.get("ok"):
                        raise RuntimeError(f"agent run failed: {f.get('error')}")
                    break
            out.append(first)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fake, fake_port = start_fake(args.words)
    tmp = tempfile.TemporaryDirectory(prefix="agent-bench-")
    home = Home(Path(tmp.name))
    cfg = home.default_config(http={"endpoints": {"chatCompletions": {"enabled": True}}})
    cfg["models"] = {"providers": {"fake": {"baseUrl": f"http://127.0.0.1:{fake_port}/v1", "api": "openai-completions",
                                            "apiKey": "test-key", "models": [{"id": "fake-model", "name": "Fake"}]}}}
    cfg["agents"] = {"defaults": {"model": "fake/fake-model", "maxConcurrent": args.concurrent}}
    cfg["logging"]["level"] = "warn"
    home.write_config(cfg)
    gw = Gateway(home, ["--port", "0"])
    result: dict[str, Any] = {"words": args.words, "samples": args.samples, "concurrent": args.concurrent}
    try:
        gw.start()
        gw.wait_ready()
        port = gw.port
        front = psutil.Process(gw.children_by_title()["frontend"])
        auth = {"Authorization": f"Bearer {TOKEN}"}
        direct_url = f"http://127.0.0.1:{fake_port}/v1/chat/completions"
        gw_url = f"http://127.0.0.1:{port}/v1/chat/completions"
        direct_body = {"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "go"}]}
        conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=120)) as s:
            for _ in range(10):  # warm-up
                await first_chunk(s, direct_url, direct_body, {"Authorization": "Bearer test-key"})
                await first_chunk(s, gw_url, {**direct_body, "model": "openclaw"}, auth)
            direct = [(await first_chunk(s, direct_url, direct_body, {"Authorization": "Bearer test-key"}))[0]
                      for _ in range(args.samples)]
            http_ttft = [(await first_chunk(s, gw_url, {**direct_body, "model": "openclaw"}, auth))[0] for _ in range(args.samples)]
            ws_ttft = await ws_first_tokens(port, args.samples)

            def ms(xs: list[float]) -> dict[str, float]:
                return {"p50": round(pct(xs, 0.5) * 1000, 3), "p99": round(pct(xs, 0.99) * 1000, 3),
                        "mean": round(statistics.fmean(xs) * 1000, 3)}

            d = ms(direct)
            result["direct_ms"] = d
            for name, xs in (("ws_agent_ms", ws_ttft), ("http_chat_ms", http_ttft)):
                m = ms(xs)
                m["added_p50"] = round(m["p50"] - d["p50"], 3)
                m["added_p99"] = round(m["p99"] - d["p99"], 3)
                result[name] = m

            # ---- load
            rss_before = front.memory_info().rss
            samples: list[dict[str, Any]] = []
            stop = asyncio.Event()

            async def sampler() -> None:
                async with aiohttp.ClientSession() as probe:
                    while not stop.is_set():
                        async with probe.get(f"http://127.0.0.1:{port}/ready") as r:
                            loop = (await r.json()).get("eventLoop", {})
                        samples.append({"rss": front.memory_info().rss, "p99": loop.get("delayP99Ms"), "max": loop.get("delayMaxMs")})
                        await asyncio.sleep(0.2)

            task = asyncio.create_task(sampler())
            t0 = time.perf_counter()
            outcomes = await asyncio.gather(*(first_chunk(s, gw_url, {**direct_body, "model": "openclaw"}, auth)
                                              for _ in range(args.concurrent)), return_exceptions=True)
            wall = time.perf_counter() - t0
            stop.set()
            await task
            errors = [repr(o)[:200] for o in outcomes if isinstance(o, BaseException)]
            tokens = sum(o[1] for o in outcomes if not isinstance(o, BaseException))
            ok_ttft = [o[0] for o in outcomes if not isinstance(o, BaseException)]
            result["load"] = {
                "runs": args.concurrent, "errors": len(errors), "errorSamples": errors[:3], "wallS": round(wall, 3),
                "tokens": tokens, "tokensPerS": round(tokens / wall, 1),
                "firstTokenP50Ms": round(pct(ok_ttft, 0.5) * 1000, 1), "firstTokenP99Ms": round(pct(ok_ttft, 0.99) * 1000, 1),
                "frontendRssMiB": {"before": round(rss_before / 2**20, 1),
                                   "peak": round(max([x["rss"] for x in samples] + [rss_before]) / 2**20, 1)},
                "eventLoopDelayP99Ms": max((x["p99"] or 0) for x in samples) if samples else None,
                "eventLoopDelayMaxMs": max((x["max"] or 0) for x in samples) if samples else None,
            }
    finally:
        gw.stop()
        fake.kill()
        fake.wait(5)
        tmp.cleanup()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--concurrent", type=int, default=100)
    p.add_argument("--words", type=int, default=200)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
