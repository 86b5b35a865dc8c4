"""The report: load criteria added to each scenario, readable tables, and the JSON document."""

from __future__ import annotations

import json
from typing import Any

from .runner import Run
from .scenarios import Outcome
from .stats import request_dict, summarize_phase

# Scenarios where the load must not notice anything at all.
SEAMLESS = {"baseline", "reload-hot", "reload-worker"}


def add_load_checks(run: Run) -> None:
    """Per phase: 0 unanswered, 0 refused connects, 0 seq gaps; seamless phases also 0 failed, 0 disconnects."""
    for out in run.outcomes:
        if out.skipped:
            continue
        s = summarize_phase(run.rec, out.name)
        out.check("0 unanswered", s["unanswered"] == 0, f"{s['unanswered']} of {s['sent']}")
        out.check("0 refused connects", s["refused"] == 0, json.dumps(s["refusedBy"]) if s["refused"] else "")
        out.check("0 seq gaps", s["seqGaps"] == 0, f"{s['seqGaps']}")
        out.check("every error retryable", s["nonRetryable"] == 0, json.dumps(s["nonRetryableBy"]) if s["nonRetryable"] else "")
        if out.name in SEAMLESS:
            out.check("0 failed", s["failed"] == 0, json.dumps(s["failedBy"]) if s["failed"] else "")
            out.check("0 disconnects", s["disconnects"] == 0, json.dumps(s["disconnectsByCode"]) if s["disconnects"] else "")
    for phase in ("drain", "startup"):  # connects refused outside any scenario still count
        s = summarize_phase(run.rec, phase)
        if s["refused"] or s["seqGaps"]:
            extra = Outcome(phase)
            extra.check("0 refused connects", s["refused"] == 0, json.dumps(s["refusedBy"]))
            extra.check("0 seq gaps", s["seqGaps"] == 0, str(s["seqGaps"]))
            run.outcomes.append(extra)


def passed(run: Run) -> bool:
    return all(o.passed for o in run.outcomes if not o.skipped)


# ---------------------------------------------------------------------- text


def table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join([line.rstrip(), sep, *body])


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    s = str(v)
    return s if len(s) <= 120 else s[:117] + "..."


def _load_line(s: dict[str, Any]) -> str:
    failed = ", ".join(f"{k} {v}" for k, v in s["failedBy"].items()) or "none"
    disc = ", ".join(f"{k}x{v}" for k, v in s["disconnectsByCode"].items()) or "none"
    http = ", ".join(f"{k}: {v}" for k, v in sorted(s["http"]["byStatus"].items())) or "none"
    return (
        f"  load: sent {s['sent']}, answered {s['answered']}, failed {s['failed']} ({failed}), unanswered {s['unanswered']}, "
        f"lost to close {s['lostToClose']}, p50 {_fmt(s['p50ms'])} ms, p99 {_fmt(s['p99ms'])} ms, max {_fmt(s['maxms'])} ms\n"
        f"        disconnects {s['disconnects']} (codes: {disc}), refused connects {s['refused']}, "
        f"other connect failures {s['connectFailures']}, seq gaps {s['seqGaps']}\n"
        f"  http: {http}"
    )


def render(run: Run) -> str:
    parts: list[str] = []
    info = run.info
    parts.append(
        f"openclaw-gateway chaos run: {info.get('mode')} {info.get('url')} (supervisor pid {info.get('supervisorPid')}), "
        f"{run.opts.clients} clients x {run.opts.rate}/s, HTTP {run.opts.http_rate}/s, faults {info.get('faults') or 'none'!r}"
    )
    for out in run.outcomes:
        parts.append("")
        head = f"== {out.name} "
        if out.skipped:
            parts.append(f"{head}== SKIPPED: {out.skipped}")
            continue
        parts.append(f"{head}== {'PASS' if out.passed else 'FAIL'} ({out.ended - out.started:.1f}s)")
        if out.rows:
            parts.append(table(out.columns, out.rows))
        if out.key:
            parts.append(f"  figures (min/median/max): {out.key}" if "/" in out.key else f"  figures: {out.key}")
        for note in out.notes:
            parts.append(f"  note: {note}")
        if out.name in {o for o in phase_names(run)}:
            parts.append(_load_line(summarize_phase(run.rec, out.name)))
        for c in out.checks:
            if not c.ok:
                parts.append(f"  FAILED: {c.name}" + (f" ({c.detail})" if c.detail else ""))
    parts.append("")
    parts.append(summary_table(run))
    for note in run.cleanup_notes:
        parts.append(f"cleanup: {note}")
    parts.append(f"RESULT: {'PASS' if passed(run) else 'FAIL'}")
    return "\n".join(parts)


def phase_names(run: Run) -> list[str]:
    return [name for name, _t in run.rec.phases]


def summary_table(run: Run) -> str:
    rows = []
    for out in run.outcomes:
        if out.skipped:
            rows.append({"scenario": out.name, "result": "skipped"})
            continue
        s = summarize_phase(run.rec, out.name)
        rows.append({
            "scenario": out.name, "result": "PASS" if out.passed else "FAIL", "secs": round(out.ended - out.started, 1) if out.ended else None,
            "sent": s["sent"], "failed": s["failed"], "unanswered": s["unanswered"], "lost": s["lostToClose"],
            "p50 ms": s["p50ms"], "p99 ms": s["p99ms"], "disc": s["disconnects"], "refused": s["refused"], "gaps": s["seqGaps"],
            "key figures": out.key,
        })
    total = summarize_phase(run.rec, None)
    rows.append({
        "scenario": "TOTAL", "result": "PASS" if passed(run) else "FAIL", "sent": total["sent"], "failed": total["failed"],
        "unanswered": total["unanswered"], "lost": total["lostToClose"], "p50 ms": total["p50ms"], "p99 ms": total["p99ms"],
        "disc": total["disconnects"], "refused": total["refused"], "gaps": total["seqGaps"],
        "key figures": f"http probes {total['http']['probes']}, p99 {_fmt(total['http']['p99ms'])} ms",
    })
    cols = ["scenario", "result", "secs", "sent", "failed", "unanswered", "lost", "p50 ms", "p99 ms", "disc", "refused", "gaps", "key figures"]
    return "SUMMARY (key figures: min/median/max)\n" + table(cols, rows)


# ---------------------------------------------------------------------- JSON


def to_json(run: Run) -> dict[str, Any]:
    rec = run.rec
    notable = [request_dict(r) for r in rec.requests if not r.ok]
    return {
        "passed": passed(run),
        "target": run.info,
        "options": {k: v for k, v in vars(run.opts).items() if k != "token"},
        "scenarios": [
            {
                "name": o.name, "skipped": o.skipped, "passed": o.passed if not o.skipped else None,
                "started": o.started, "ended": o.ended, "columns": o.columns, "rows": o.rows, "notes": o.notes,
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in o.checks],
                "load": summarize_phase(rec, o.name) if not o.skipped else None,
            }
            for o in run.outcomes
        ],
        "load": {
            "total": summarize_phase(rec, None),
            "phases": [{"name": n, "start": t} for n, t in rec.phases],
            "notAnsweredOk": notable,  # every failed, unanswered and lost-to-close request
            "disconnects": rec.disconnects,
            "refused": rec.refused,
            "connectFailures": rec.connect_failures,
            "seqGaps": rec.seq_gaps,
            "httpErrors": [p for p in rec.http if p["status"] is None],
        },
        "logSkippedBytes": run.logs.skipped_bytes if run.logs else None,
        "cleanup": run.cleanup_notes,
    }
