"""`openclaw sessions`: list stored sessions straight from the agents' SQLite stores (read-only, no gateway),
in the upstream CLI's JSON shape and table."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from openclaw.ipc.errors import ExitCode
from openclaw.ipc.paths import resolve_paths
from openclaw.workers.agent.store.keys import valid_agent_id
from openclaw.workers.agent.store.rows import cli_row, participants
from openclaw.workers.agent.store.schema import DB_NAME, StoreError, db_path, open_db

from .globals import OPTIONS
from .output import fail, print_json

DEFAULT_LIMIT = 100


def parse_limit(raw: str | None) -> int | None:
    if raw is None:
        return DEFAULT_LIMIT
    if raw.strip().lower() == "all":
        return None
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        fail(f"--limit must be a positive integer or 'all' (got {raw!r})", ExitCode.USAGE)
    return n


def read_store(path: Path, agent_id: str, now: int) -> list[dict[str, Any]]:
    """The store's session rows (none when the file or its schema is missing); a foreign or newer file fails."""
    if not path.is_file():
        return []
    try:
        db = open_db(path, agent_id, readonly=True)
    except StoreError as e:
        if "no agent schema_meta row" in str(e) or "schema version 0" in str(e):
            return []
        fail(f"Session metadata unavailable: {e}")
    except sqlite3.Error as e:
        fail(f"cannot read session store {path}: {e}")
    try:
        db.row_factory = sqlite3.Row
        nodes = db.execute("SELECT * FROM session_nodes WHERE entry_valid=1").fetchall()
        return [cli_row(agent_id, n, participants(db, n["session_key"]), now) for n in nodes]
    except (sqlite3.Error, ValueError) as e:
        fail(f"cannot read session store {path}: {e}")
    finally:
        db.close()


def sessions_cmd(*, as_json: bool, agent: str | None, all_agents: bool, active: int | None, limit_raw: str | None,
                 store: str | None) -> None:
    limit = parse_limit(limit_raw)
    if active is not None and active < 1:
        fail("--active must be a positive number of minutes", ExitCode.USAGE)
    if agent is not None and not valid_agent_id(agent.strip().lower()):
        fail(f"invalid agent id: {agent!r}", ExitCode.USAGE)
    if all_agents and (agent or store):
        fail("--all-agents cannot be combined with --agent or --store", ExitCode.USAGE)
    state = resolve_paths(OPTIONS.effective_profile).state_dir
    now = int(time.time() * 1000)
    if all_agents:
        root = state / "agents"
        ids = sorted(p.name for p in root.iterdir() if (p / "agent" / DB_NAME).is_file()) if root.is_dir() else []
        stores = [(a, db_path(state, a)) for a in ids]
    else:
        agent_id = (agent or "main").strip().lower()
        stores = [(agent_id, Path(store).expanduser().resolve() if store else db_path(state, agent_id))]
    rows = [r for a, p in stores for r in read_store(p, a, now)]
    if active is not None:
        rows = [r for r in rows if r["ageMs"] <= active * 60_000]
    rows.sort(key=lambda r: r.get("updatedAt") or 0, reverse=True)
    total = len(rows)
    shown = rows if limit is None else rows[:limit]
    if as_json:
        out: dict[str, Any] = {"path": None if all_agents else str(stores[0][1])}
        if all_agents:
            out.update(stores=[{"agentId": a, "path": str(p)} for a, p in stores], allAgents=True)
        out.update(count=len(shown), totalCount=total, limitApplied=limit, hasMore=len(shown) < total,
                   activeMinutes=active, sessions=shown)
        print_json(out)
        return
    for a, p in stores:
        print(f"Session store: {p}" if not all_agents else f"Session store ({a}): {p}")
    if not shown:
        print("No sessions found.")
        return
    print(f"Sessions listed: {len(shown)}" + (f" of {total}" if total > len(shown) else ""))
    print(render_table(shown, with_agent=all_agents))


def _age(ms: int) -> str:
    s = ms // 1000
    if s < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit} ago"
    return "just now"


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else (f"{n / 1000:.1f}k" if n >= 1000 else str(n))


def _tokens(r: dict[str, Any]) -> str:
    ctx = r.get("contextTokens") or 0
    tot = r.get("totalTokens")
    if tot is None:
        return f"-/{_k(ctx)}"
    pct = round(100 * tot / ctx) if ctx else 0
    return f"{tot}/{_k(ctx)} ({pct}%)"


def _flags(r: dict[str, Any]) -> list[str]:
    flags = [f"visibility:{r.get('visibility', 'shared')}"]
    if r.get("participants"):
        ids = ",".join(f"{p['identity'].get('type')}:{p['identity'].get('id')}" for p in r["participants"])
        flags.append(f"participants:{ids}")
    if r.get("abortedLastRun"):
        flags.append("aborted")
    if r.get("status") and r["status"] != "done":
        flags.append(f"status:{r['status']}")
    flags.append(f"id:{r.get('sessionId')}")
    return flags


def render_table(rows: list[dict[str, Any]], *, with_agent: bool = False) -> str:
    head = (["Agent"] if with_agent else []) + ["Kind", "Key", "Age", "Model", "Runtime", "Tokens (ctx %)", "Flags"]
    cells = []
    for r in rows:
        runtime = "OpenClaw Default" if r.get("agentRuntime", {}).get("id") == "openclaw" else "Auto"
        base = ([r["agentId"]] if with_agent else []) + [r.get("kind", "direct"), r["key"], _age(r["ageMs"]),
                                                         r.get("model") or "-", runtime, _tokens(r)]
        flags = _flags(r)
        cells.append([base + [flags[0]]] + [[""] * len(base) + [f] for f in flags[1:]])
    widths = [max(len(h), *(len(line[i]) for row in cells for line in row)) for i, h in enumerate(head)]

    def line(values: list[str]) -> str:
        return "│ " + " │ ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " │"

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    out = [rule("┌", "┬", "┐"), line(head), rule("├", "┼", "┤")]
    for row in cells:
        out += [line(v) for v in row]
    out.append(rule("└", "┴", "┘"))
    return "\n".join(out)
