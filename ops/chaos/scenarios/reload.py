"""Config reload under load: hot keys, worker replacement (blue/green), front-end restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .base import Ctx, Outcome, ms, set_key, spread, wait_gone

APPLY_TIMEOUT_S = 10.0


async def reload_hot(ctx: Ctx, out: Outcome) -> None:
    """Hot edits (gateway.http.endpoints.*): applied without touching any process."""
    out.columns = ["#", "edit", "applied ms", "actions"]
    before = await ctx.procs()
    for i in range(ctx.opts.reloads):
        key = "gateway.http.endpoints.chatCompletions.enabled"
        value = i % 2 == 0
        _h, _t0, took = await ctx.edit_and_wait(set_key(key, value), APPLY_TIMEOUT_S)
        actions = await ctx.last_actions()
        out.rows.append({"#": i + 1, "edit": f"{key}={str(value).lower()}", "applied ms": ms(took), "actions": "; ".join(actions)})
        await asyncio.sleep(ctx.opts.gap)
    _h, took = await ctx.restore_config()
    out.rows.append({"#": "restore", "edit": "original file", "applied ms": ms(took), "actions": "; ".join(await ctx.last_actions())})
    after = await ctx.procs()
    applied = [r["applied ms"] for r in out.rows]
    out.check("every edit applied", all(a is not None for a in applied),
              f"{sum(a is not None for a in applied)}/{len(applied)} within {APPLY_TIMEOUT_S:.0f}s")
    changed = sorted(n for n in before if n in after and before[n].pid != after[n].pid)
    out.check("no process replaced", not changed, f"replaced: {', '.join(changed)}" if changed else "same PIDs before and after")
    _summary(out, applied)


async def reload_worker(ctx: Ctx, out: Outcome) -> None:
    """models.* (agent, blue/green) and channels.<id>.* (that channel only), alternately."""
    out.columns = ["#", "edit", "worker", "old pid", "new pid", "applied ms", "replaced ms", "others kept"]
    workers = await ctx.worker_names()
    channel = next((w for w in workers if w.startswith("channel:")), None)
    if channel is None:
        out.notes.append("no channel configured: models.* edits only")
    for i in range(ctx.opts.reloads):
        if i % 2 == 0 or channel is None:
            worker, key = "agent", "models.chaosRev"
        else:
            worker, key = channel, f"channels.{channel.split(':', 1)[1]}.chaosRev"
        before = await ctx.wait_running([worker], 20) or await ctx.procs()
        old = before[worker].pid
        h = ctx.target.config.edit(set_key(key, i + 1))  # type: ignore[union-attr]
        t0 = time.time()
        procs, _ = await ctx.wait_procs(lambda p: worker in p and p[worker].pid != old and p[worker].state == "running", APPLY_TIMEOUT_S)
        replaced = time.time() - t0 if procs else None
        applied = await ctx.wait_hash(h, t0, APPLY_TIMEOUT_S)
        after = procs or await ctx.procs()
        kept = [n for n in before if n != worker and n in after and after[n].pid == before[n].pid]
        out.rows.append({
            "#": i + 1, "edit": f"{key}={i + 1}", "worker": worker, "old pid": old, "new pid": after[worker].pid if procs else None,
            "applied ms": ms(applied), "replaced ms": ms(replaced), "others kept": f"{len(kept)}/{len(before) - 1}",
        })
        await wait_gone(old, 8.0)  # let the replaced worker finish retiring
        await asyncio.sleep(ctx.opts.gap)
    _h, took = await ctx.restore_config()
    await ctx.wait_running(workers, 20)
    out.rows.append({"#": "restore", "edit": "original file", "worker": "agent+channel", "applied ms": ms(took)})
    edits = out.rows[:-1]
    out.check("every worker replaced", all(r["replaced ms"] is not None for r in edits),
              f"{sum(r['replaced ms'] is not None for r in edits)}/{len(edits)} within {APPLY_TIMEOUT_S:.0f}s")
    out.check("only the edited worker replaced", all(r["others kept"].split("/")[0] == r["others kept"].split("/")[1] for r in edits))
    _summary(out, [r["replaced ms"] for r in edits], "replaced")


async def reload_frontend(ctx: Ctx, out: Outcome) -> None:
    """gateway.terminal (a key only a new front-end applies): clients get 1012 and reconnect."""
    out.columns = ["#", "edit", "old pid", "new pid", "restarted ms", "clients back ms", "disconnects", "refused", "applied ms"]
    for i in range(ctx.opts.frontend_restarts):
        before = await ctx.wait_running(["frontend"], 20) or await ctx.procs()
        old = before["frontend"].pid
        h = ctx.target.config.edit(set_key("gateway.terminal", {"chaosRev": i + 1}))  # type: ignore[union-attr]
        t0 = time.time()
        row = await _frontend_replaced(ctx, old, t0, 20.0)
        row.update({"#": i + 1, "edit": f"gateway.terminal.chaosRev={i + 1}", "applied ms": ms(await ctx.wait_hash(h, t0, APPLY_TIMEOUT_S))})
        out.rows.append(row)
        await asyncio.sleep(ctx.opts.gap)
    before = await ctx.procs()
    h = ctx.target.config.restore()  # type: ignore[union-attr]
    if h is not None:
        t0 = time.time()
        row = await _frontend_replaced(ctx, before["frontend"].pid, t0, 20.0)
        row.update({"#": "restore", "edit": "original file", "applied ms": ms(await ctx.wait_hash(h, t0, APPLY_TIMEOUT_S))})
        out.rows.append(row)
    out.check("front-end replaced every time", all(r["restarted ms"] is not None for r in out.rows))
    out.check("clients reconnected every time", all(r["clients back ms"] is not None for r in out.rows))
    _summary(out, [r["restarted ms"] for r in out.rows], "restarted")


async def _frontend_replaced(ctx: Ctx, old: int | None, t0: float, timeout: float) -> dict[str, Any]:
    procs, _ = await ctx.wait_procs(lambda p: p["frontend"].pid != old and p["frontend"].state == "running", timeout)
    restarted = time.time() - t0 if procs else None
    back = None
    if ctx.load is not None:
        await asyncio.sleep(0.05)
        if await ctx.load.wait_all_connected(timeout):
            back = time.time() - t0
    t1 = time.time()
    return {
        "old pid": old, "new pid": procs["frontend"].pid if procs else None, "restarted ms": ms(restarted), "clients back ms": ms(back),
        "disconnects": len(ctx.events_between(ctx.rec.disconnects, t0, t1)),
        "refused": len(ctx.events_between(ctx.rec.refused, t0, t1)),
    }


def _summary(out: Outcome, values: list[Any], what: str = "applied") -> None:
    out.key = spread(f"{what} ms", values)
