"""The gateway as a whole: in-process restarts (SIGUSR1), a crash-looping channel, and a
SIGTERM that lands in the middle of a restart."""

from __future__ import annotations

import asyncio
import signal
import time

from ..control import LogRecord, msg_is
from ..stats import WORKER_OF
from ..target import DEFAULT_FAULTS
from .base import Ctx, Outcome, drop_key, http_get, ms, set_key, spread

RECOVER_TIMEOUT_S = 30.0
CRASHY = "channel:crashy"
SCHEDULE_S = [0.5, 1.0, 2.0, 4.0, 8.0]
TOLERANCE = 0.25
SPAWN_ALLOWANCE_S = 0.15  # the `spawned` record is written after fork/exec: 10-30 ms, >100 ms on a busy box


async def restart(ctx: Ctx, out: Outcome) -> None:
    """SIGUSR1: every child replaced, the supervisor PID kept; recovery = the first successful
    worker call answered on a connection opened after the signal."""
    out.columns = ["#", "recovered ms", "all running ms", "generation", "disconnects", "lost to close", "refused"]
    workers = await ctx.worker_names()
    for i in range(ctx.opts.restarts):
        status = await ctx.ctl.call("status", timeout=10)
        gen0 = (status.get("supervision") or {}).get("generation", 0)
        await ctx.wait_running(["frontend", *workers], RECOVER_TIMEOUT_S)
        t0 = ctx.target.signal_supervisor(signal.SIGUSR1)
        recovered = await _first_worker_ok(ctx, t0, RECOVER_TIMEOUT_S)
        procs, _ = await ctx.wait_procs(lambda p: all(n in p and p[n].state == "running" for n in ["frontend", *workers]), RECOVER_TIMEOUT_S, 0.05)
        all_running = time.time() - t0 if procs else None
        status = await ctx.ctl.call("status", timeout=10)
        sup = status.get("supervision") or {}
        t1 = time.time()
        out.rows.append({
            "#": i + 1, "recovered ms": ms(recovered), "all running ms": ms(all_running),
            "generation": f"{gen0} -> {sup.get('generation')}",
            "disconnects": len(ctx.events_between(ctx.rec.disconnects, t0, t1)),
            "lost to close": sum(1 for r in ctx.rec.requests if r.lost_to_close and t0 - 1 <= r.sent <= t1),
            "refused": len(ctx.events_between(ctx.rec.refused, t0, t1)),
        })
        out.check(f"#{i + 1} recovered", recovered is not None, f"within {RECOVER_TIMEOUT_S:.0f}s")
        out.check(f"#{i + 1} supervisor PID kept", status.get("pid") == ctx.target.supervisor_pid, f"pid {status.get('pid')}")
        await asyncio.sleep(ctx.opts.gap)
    out.key = spread("recovered ms", [r["recovered ms"] for r in out.rows])


async def _first_worker_ok(ctx: Ctx, t0: float, timeout: float) -> float | None:
    if ctx.load is None:  # no load: ask ourselves
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conn = ctx.ctl.conn_no
            try:
                await ctx.ctl.call("sessions.list", timeout=2, retry_unavailable=False)
                if ctx.ctl.conn_no != conn or time.time() - t0 > 0.5:
                    return time.time() - t0
            except Exception:  # noqa: BLE001
                pass
            await asyncio.sleep(0.02)
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [r for r in ctx.rec.requests if r.ok and r.method in WORKER_OF and r.conn_opened > t0 and r.answered]
        if hits:
            return min(r.answered for r in hits) - t0  # type: ignore[type-var,operator]
        await asyncio.sleep(0.05)
    return None


async def crash_loop(ctx: Ctx, out: Outcome) -> None:
    """channels.crashy added while OPENCLAW_FAULTS makes it exit at every start: backoff, FATAL."""
    if "channel:crashy=exit-on-start" not in ctx.target.faults.replace(" ", ""):
        out.skipped = (
            f"needs a gateway started with OPENCLAW_FAULTS={DEFAULT_FAULTS}: use --spawn, or start it with that "
            f"variable and say so with --faults {DEFAULT_FAULTS} (a running gateway's environment cannot be read back)"
        )
        return
    out.columns = ["spawn", "at s", "lived ms", "spawn gap s", "exit->spawn s", "expected s", "in range", "scheduled ms"]
    t0 = time.time()
    await ctx.edit_and_wait(set_key("channels.crashy", {}), 10.0)
    fatal = await ctx.logs.wait_for(_fatal_transition, t0, 45.0)
    await asyncio.sleep(0.3)  # the log follower's next page
    spawns = ctx.logs.find(msg_is("spawned", child=CRASHY), t0)
    exits = ctx.logs.find(msg_is("exited unexpectedly", child=CRASHY), t0)
    scheduled = ctx.logs.find(msg_is("restart scheduled", child=CRASHY), t0)
    exit_of = {r.fields.get("instance"): r for r in exits}
    on_schedule = len(spawns) > 1
    for i, sp in enumerate(spawns):
        ex = exit_of.get(sp.fields.get("instance"))
        row = {"spawn": i + 1, "at s": round(sp.t - spawns[0].t, 3), "lived ms": ms(ex.t - sp.t) if ex else None}
        if i > 0:
            # The schedule is the delay between a crash and the next start; a spawn-to-spawn gap
            # also holds the crashed process's own life (interpreter start until exit-on-start).
            prev_exit = exit_of.get(spawns[i - 1].fields.get("instance"))
            delay = sp.t - prev_exit.t if prev_exit else None
            expected = SCHEDULE_S[i - 1] if i - 1 < len(SCHEDULE_S) else None
            ok = (
                expected is not None and delay is not None
                and (1 - TOLERANCE) * expected <= delay <= (1 + TOLERANCE) * expected + SPAWN_ALLOWANCE_S
            )
            on_schedule &= ok
            row.update({
                "spawn gap s": round(sp.t - spawns[i - 1].t, 3), "exit->spawn s": round(delay, 3) if delay is not None else None,
                "expected s": expected, "in range": "yes" if ok else "NO",
                "scheduled ms": scheduled[i - 1].fields.get("delay_ms") if i - 1 < len(scheduled) else None,
            })
        out.rows.append(row)
    delays = [r["exit->spawn s"] for r in out.rows[1:]]
    out.key = f"{len(spawns)} spawns, exit->spawn s {', '.join(str(d) for d in delays)}"
    out.check("ends FATAL", fatal is not None, fatal.message if fatal else "no '-> fatal' transition within 45s")
    out.check("6 spawns (FATAL after more than 5 exits in 30 s)", len(spawns) == 6, f"{len(spawns)} spawns, {len(exits)} exits")
    out.check(
        f"restarts on the schedule 0.5/1/2/4/8 s (exit -> next spawn within +-{TOLERANCE:.0%}, "
        f"+{SPAWN_ALLOWANCE_S * 1000:.0f} ms to start a process)", on_schedule,
    )
    status, body = await ctx.readyz()
    failing = body.get("failing") or []
    out.check("/readyz 503 naming it", status == 503 and any(CRASHY in f for f in failing), f"{status}: {failing}")
    hstatus, _ = await http_get(ctx.target.http + "/healthz")
    out.check("/healthz 200", hstatus == 200, str(hstatus))
    await ctx.edit_and_wait(drop_key("channels.crashy"), 10.0)
    t1 = time.monotonic()
    ready_again = await ctx.wait_ready(15.0)
    out.check("/readyz 200 after removing it", ready_again, f"after {ms(time.monotonic() - t1)} ms" if ready_again else "still 503 after 15s")


def _fatal_transition(r: LogRecord) -> bool:
    return r.child == CRASHY and r.message.startswith(f"{CRASHY}: ") and r.message.endswith("-> fatal")


async def sigterm_during_restart(ctx: Ctx, out: Outcome) -> None:
    """SIGUSR1, then SIGTERM 50 ms later: the gateway must still stop cleanly and at once."""
    gw = ctx.target.spawned
    if gw is None:
        out.skipped = "only with --spawn (it stops the gateway)"
        return
    out.columns = ["SIGTERM after", "exit ms", "exit code", "left at exit", "left 1 s later"]
    await ctx.wait_ready(20.0)
    tree_before = [p.pid for p in gw.leftovers()]
    await ctx.logs.stop()  # nothing may talk to the gateway once it is told to stop
    t_usr1 = ctx.target.signal_supervisor(signal.SIGUSR1)
    await asyncio.sleep(0.05)
    t_term = ctx.target.signal_supervisor(signal.SIGTERM)
    took = await gw.wait_exit(10.0)
    left_now = [f"{p.pid}" for p in gw.leftovers() if p.pid != gw.pid]
    await asyncio.sleep(1.0)
    left_later = gw.leftovers()
    left_later_desc = [f"{p.pid} {' '.join(p.cmdline())[:40]}" for p in left_later]
    out.rows.append({
        "SIGTERM after": f"{ms(t_term - t_usr1)} ms", "exit ms": ms(took), "exit code": gw.exit_code,
        "left at exit": len(left_now), "left 1 s later": len(left_later),
    })
    out.notes.append(f"tree before: {len(tree_before)} processes (PIDs {', '.join(map(str, tree_before))})")
    if left_now:
        out.notes.append(f"alive the moment the supervisor exited: PIDs {', '.join(left_now)}")
    out.key = f"exit {ms(took)} ms after SIGTERM, code {gw.exit_code}, {len(left_later)} left"
    out.check("exited", took is not None, "within 10 s")
    out.check("exit code 0", gw.exit_code == 0, str(gw.exit_code))
    out.check("exit within 1 s of SIGTERM", took is not None and took <= 1.0, f"{ms(took)} ms")
    out.check("no process of the tree left", not left_later, "; ".join(left_later_desc) or "none (psutil, 1 s after exit)")
    gw.kill_leftovers()
