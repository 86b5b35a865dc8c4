"""The upstream `openclaw sessions` (2026.9.6) reads the SQLite store our agent worker writes.

A run recorded through our store API (same calls the agent worker makes) must be listed by the real
upstream CLI (JSON and table) with its key, model and tokens; our own `openclaw sessions --json` has
the same shape. A writer killed with SIGKILL between transactions leaves a file both accept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from openclaw.workers.agent.providers.base import ModelRef
from openclaw.workers.agent.store.messages import assistant_message
from openclaw.workers.agent.store.stores import Stores

from ..harness import REPO, Home

MODEL = ModelRef("openclaw-local", "echo")
OURS = [sys.executable, "-m", "openclaw.cli"]

WRITER = """
import sys, itertools
from openclaw.workers.agent.providers.base import ModelRef
from openclaw.workers.agent.store.messages import assistant_message
from openclaw.workers.agent.store.stores import Stores
m = ModelRef("openclaw-local", "echo")
s = Stores(sys.argv[1]).get("main")
for i in itertools.count():
    key = f"agent:main:crash-{i % 20}"
    s.begin_run(key, f"r{i}", model=m, user_text=f"hi {i}", client_id="cli", idempotency_key=f"r{i}")
    s.append_message(key, assistant_message("x" * 2000, model=m, usage={"input": 3, "output": 1}))
    s.finish_run(key, f"r{i}", status="done", usage={"input": 3, "output": 1}, model=m)
    print(i, flush=True)
"""


def record_run(home: Home) -> dict:
    stores = Stores(home.state_dir)
    try:
        store = stores.get("main")
        store.begin_run("agent:main:main", "run-1", model=MODEL, user_text="hi", client_id="cli", idempotency_key="run-1")
        store.append_message("agent:main:main", assistant_message("Echo: hi", model=MODEL, usage={"input": 10, "output": 4}))
        return store.finish_run("agent:main:main", "run-1", status="done", usage={"input": 10, "output": 4}, model=MODEL)
    finally:
        stores.close()


def ours(home: Home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OURS, *args], env=home.env(), cwd=str(REPO), capture_output=True, text=True, timeout=30, check=False,
                          stdin=subprocess.DEVNULL)


def test_upstream_lists_our_session(upstream_cli, tmp_path: Path) -> None:
    home = Home(tmp_path)
    entry = record_run(home)
    db = home.state_dir / "agents" / "main" / "agent" / "openclaw-agent.sqlite"

    res = upstream_cli.run(home, "sessions", "--json")
    assert res.returncode == 0, res.describe()
    up = res.json()
    assert up["path"] == str(db) and up["count"] == 1 and up["totalCount"] == 1, res.describe()
    row = up["sessions"][0]
    assert row["key"] == "agent:main:main" and row["sessionId"] == entry["sessionId"], res.describe()
    assert (row["model"], row["modelProvider"], row["status"]) == ("echo", "openclaw-local", "done"), res.describe()
    assert (row["inputTokens"], row["outputTokens"], row["totalTokens"], row["totalTokensFresh"]) == (10, 4, 10, True)
    assert row["agentRuntime"] == {"id": "openclaw", "source": "session"} and row["participantCount"] == 1

    table = upstream_cli.run(home, "sessions")
    assert table.returncode == 0, table.describe()
    shown = table.stdout + table.stderr  # upstream writes its human listing to stderr when stdout is not a TTY
    assert f"Session store: {db}" in shown and "Sessions listed: 1" in shown, table.describe()
    assert "agent:main:main" in shown and "echo" in shown and "10/200k (0%)" in shown, table.describe()

    mine = ours(home, "sessions", "--json")
    assert mine.returncode == 0, mine.stderr
    our = json.loads(mine.stdout)
    assert set(our) == set(up) and our["count"] == up["count"] and our["path"] == up["path"]
    ours_row, up_row = our["sessions"][0], up["sessions"][0]
    assert list(ours_row) == list(up_row), (list(ours_row), list(up_row))
    assert {k: v for k, v in ours_row.items() if k != "ageMs"} == {k: v for k, v in up_row.items() if k != "ageMs"}
    human = ours(home, "sessions")
    assert human.returncode == 0 and "Sessions listed: 1" in human.stdout and "10/200k (0%)" in human.stdout


def test_writer_killed_mid_writes_leaves_a_readable_store(upstream_cli, tmp_path: Path) -> None:
    home = Home(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(home.state_dir)], stdout=subprocess.PIPE, text=True,
                            cwd=str(REPO), env=home.env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        done = -1
        while done < 60 and time.monotonic() < deadline:  # let it get well into the loop, then kill it mid-flight
            line = proc.stdout.readline()
            if not line:
                break
            done = int(line)
        assert done >= 60, "writer did not make progress"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    res = upstream_cli.run(home, "sessions", "--json", "--limit", "all")
    assert res.returncode == 0, res.describe()
    assert res.json()["count"] == 20, res.describe()

    stores = Stores(home.state_dir)
    try:
        store = stores.get("main")
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        recovered = store.recover_interrupted()  # at most the one run the kill cut off
        assert len(recovered) <= 1
        statuses = {json.loads(n["entry_json"])["status"] for n in store.all_nodes()}
        assert statuses <= {"done", "failed"}
    finally:
        stores.close()
    res = upstream_cli.run(home, "sessions", "--json", "--limit", "all")
    assert res.returncode == 0 and res.json()["count"] == 20, res.describe()
