"""Workers that die (SIGKILL) or wedge (SIGSTOP) under load: how fast the supervisor notices,
how fast a replacement is Ready, and how fast a caller with a request in flight hears about it."""

from __future__ import annotations

import asyncio
import signal
import time

from ..control import LogRecord, msg_is
from ..stats import WORKER_OF, Request
from .base import Ctx, Outcome, ms, spread, wait_gone

DETECT_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 25.0


async def kill_worker(ctx: Ctx, out: Outcome) -> None:
    await _fault_each_worker(ctx, out, signal.SIGKILL, "exited unexpectedly", "detect ms")


async def stop_worker(ctx: Ctx, out: Outcome) -> None:
    await _fault_each_worker(ctx, out, signal.SIGSTOP, "process hung; aborting it", "hang detect ms")
    left = ctx.target.guard.survivors()
    out.check("no stopped process left", not left, f"still there: {left}" if left else "every stopped worker is gone")
    ctx.target.guard.cleanup()


async def _fault_each_worker(ctx: Ctx, out: Outcome, sig: signal.Signals, detect_msg: str, detect_col: str) -> None:
    out.columns = ["#", "worker", "pid", detect_col, "ready ms", "new pid", "in-flight err ms", "errors", "kinds"]
    workers = await ctx.worker_names()
    routed = set(WORKER_OF.values())
    n = 0
    for _rep in range(ctx.opts.repeat):
        for worker in workers:
            n += 1
            procs = await ctx.wait_running([worker], READY_TIMEOUT_S)
            if procs is None:
                out.check(f"{worker} running before fault #{n}", False, "not running; skipped")
                continue
            pid = procs[worker].pid
            assert pid is not None
            t0 = ctx.target.signal_child(worker, pid, sig)
            detected = await ctx.logs.wait_for(msg_is(detect_msg, child=worker, pid=pid), t0, DETECT_TIMEOUT_S)
            ready = await ctx.logs.wait_for(_ready_of(worker, pid), t0, READY_TIMEOUT_S)
            t_end = ready.t + 0.5 if ready else time.time()
            await asyncio.sleep(max(0.0, t_end - time.time()))  # answers to calls sent just before Ready
            lost = ctx.first_worker_lost(worker, t0, t_end) if worker in routed else None
            failed = [r for r in ctx.requests_between(t0, t_end) if not r.ok and WORKER_OF.get(r.method) == worker]
            kinds = sorted({(r.reason or f"{r.code} {r.message}") + (f"/{r.cause}" if r.cause else "") for r in failed})
            out.rows.append({
                "#": n, "worker": worker, "pid": pid,
                detect_col: ms(detected.t - t0) if detected else None,
                "ready ms": ms(ready.t - t0) if ready else None,
                "new pid": ready.fields.get("pid") if ready else None,
                "in-flight err ms": _lost_ms(lost, t0) if worker in routed else "n/a",
                "errors": len(failed) if worker in routed else "n/a",
                "kinds": ", ".join(kinds),
            })
            out.check(f"#{n} {worker}: {detect_msg}", detected is not None, f"within {DETECT_TIMEOUT_S:.0f}s")
            out.check(f"#{n} {worker}: replacement ready", ready is not None, f"within {READY_TIMEOUT_S:.0f}s")
            if sig == signal.SIGSTOP:
                await wait_gone(pid, 5.0)
            await asyncio.sleep(ctx.opts.gap)
    await ctx.wait_running(workers, READY_TIMEOUT_S)
    _summaries(out, detect_col)


def _lost_ms(lost: Request | None, t0: float) -> int | str:
    """fault -> the first worker-lost answer; "none" when no call was in flight to hear it."""
    if lost is None or lost.answered is None:
        return "none"
    return int(round((lost.answered - t0) * 1000))


def _ready_of(worker: str, old_pid: int):
    def pred(r: LogRecord) -> bool:
        return r.message == "ready" and r.child == worker and r.fields.get("pid") != old_pid
    return pred


def _summaries(out: Outcome, detect_col: str) -> None:
    figures = [spread(col, [r.get(col) for r in out.rows]) for col in (detect_col, "ready ms", "in-flight err ms")]
    out.key = "; ".join(f for f in figures if f)
