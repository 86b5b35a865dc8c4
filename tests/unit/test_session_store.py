"""The session store: keys, the upstream file layout, a run's writes, history, recovery, operator edits."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from openclaw.ipc.errors import GatewayError
from openclaw.workers.agent.providers.base import (
    AssistantMessage,
    ModelRef,
    ToolCallRequest,
    ToolResultMessage,
    UserMessage,
)
from openclaw.workers.agent.store import keys
from openclaw.workers.agent.store.messages import assistant_message, tool_result_message
from openclaw.workers.agent.store.schema import (
    SCHEMA_VERSION,
    StoreError,
    open_db,
    schema_statements,
)
from openclaw.workers.agent.store.stores import Stores

MODEL = ModelRef("openclaw-local", "echo")
KEY = "agent:main:main"


@pytest.fixture
def stores(tmp_path: Path):
    s = Stores(tmp_path)
    yield s
    s.close()


def run(store, key: str, run_id: str, text: str, reply: str, status: str = "done") -> dict:
    store.begin_run(key, run_id, model=MODEL, user_text=text, client_id="cli", idempotency_key=run_id)
    store.append_message(key, assistant_message(reply, model=MODEL, usage={"input": 4, "output": 2}, run_id=run_id))
    return store.finish_run(key, run_id, status=status, usage={"input": 4, "output": 2}, model=MODEL,
                            response_model="openclaw-local/echo")


@pytest.mark.parametrize(("raw", "agent", "want"), [
    (None, "main", "agent:main:main"), ("", "main", "agent:main:main"), ("main", "ops", "agent:ops:main"),
    ("  Agent:Main:CLI-Test ", "main", "agent:main:cli-test"), ("bogus", "main", "agent:main:bogus"),
    ("agent:ops:x:y", "main", "agent:ops:x:y"), ("hook:abc", "main", "agent:main:hook:abc"),
])
def test_canonical_key(raw, agent, want) -> None:
    assert keys.canonical_key(raw, agent) == want


@pytest.mark.parametrize("raw", ["agent:main", "agent::x", "agent:main:", "a b", "x\x00", "incognito-x", "a::b", 5, "k" * 600])
def test_canonical_key_refuses(raw) -> None:
    with pytest.raises(GatewayError) as e:
        keys.canonical_key(raw, "main")
    assert e.value.code.value == "INVALID_REQUEST"


def test_agent_of_and_main_key() -> None:
    assert keys.agent_of("agent:ops:main") == "ops"
    assert keys.agent_of("global") is None
    assert keys.main_key("Ops") == "agent:ops:main"


def test_file_layout_matches_upstream(stores: Stores, tmp_path: Path) -> None:
    store = stores.get("main")
    path = tmp_path / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    assert store.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    db = store.db
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert tuple(db.execute("SELECT role, schema_version, agent_id FROM schema_meta").fetchone()) == ("agent", 23, "main")
    assert tuple(db.execute("SELECT id, main_key FROM session_key_contract").fetchone()) == (1, "main")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert len(tables) == 67 and "session_transcript_fts" in tables  # as the real upstream file
    # the DDL text is upstream's verbatim (octet_length kept; registered as a function on old SQLite)
    assert "octet_length(navigation_json)" in db.execute(
        "SELECT sql FROM sqlite_master WHERE name='transcript_events'").fetchone()[0]
    assert len(schema_statements()) == 127


def test_run_lifecycle_writes_certified_rows(stores: Stores) -> None:
    store = stores.get("main")
    entry = store.begin_run(KEY, "r1", model=MODEL, user_text="hi", client_id="cli", idempotency_key="r1")
    assert entry["status"] == "running" and entry["activeWriterRunId"] == "r1"
    node = store.node(KEY)
    assert node["entry_valid"] == 1 and node["status"] == "running"
    store.append_message(KEY, assistant_message("Echo: hi", model=MODEL, run_id="r1"))
    done = store.finish_run(KEY, "r1", status="done", usage={"input": 10, "output": 4}, model=MODEL)
    node = store.node(KEY)
    e = json.loads(node["entry_json"])
    assert node["entry_valid"] == 1 and node["status"] == "done"
    assert e == done and e["updatedAt"] == node["updated_at"] and e["sessionId"] == node["current_session_id"]
    assert (e["inputTokens"], e["outputTokens"], e["totalTokens"], e["totalTokensVersion"]) == (10, 4, 10, 1)
    assert e["lastRunId"] == "r1" and e["abortedLastRun"] is False and e["runtimeMs"] >= 0
    types = [ev["type"] for ev in store.transcript(KEY)]
    assert types == ["session", "model_change", "thinking_level_change", "custom", "message", "message"]
    user = store.transcript(KEY)[4]["message"]
    assert user["idempotencyKey"] == "r1:user" and user["__openclaw"] == {"senderIsOwner": True}
    win = store.db.execute("SELECT status, model, model_provider FROM session_windows").fetchone()
    assert tuple(win) == ("done", "echo", "openclaw-local")
    with pytest.raises(ValueError):
        store.finish_run(KEY, "r1", status="bogus", usage={}, model=MODEL)


def test_model_history_with_tools_and_limit(stores: Stores) -> None:
    store = stores.get("main")
    store.begin_run(KEY, "r1", model=MODEL, user_text="/tool x {}", client_id="cli", idempotency_key="r1")
    store.append_message(KEY, assistant_message("", model=MODEL, tool_calls=[ToolCallRequest("c1", "x", {"a": 1})]))
    store.append_message(KEY, tool_result_message("c1", "x", "out"))
    store.append_message(KEY, assistant_message("Tool x returned: out", model=MODEL))
    store.finish_run(KEY, "r1", status="done", usage={}, model=MODEL)
    hist = store.model_history(KEY)
    assert hist == [UserMessage("/tool x {}"), AssistantMessage("", (ToolCallRequest("c1", "x", {"a": 1}),)),
                    ToolResultMessage("c1", "x", "out"), AssistantMessage("Tool x returned: out")]
    # a cut never starts inside a tool exchange
    assert store.model_history(KEY, max_messages=3) == [AssistantMessage("Tool x returned: out")]
    assert store.model_history("agent:main:nope") == []


def test_recover_interrupted_marks_and_notes(stores: Stores, tmp_path: Path) -> None:
    store = stores.get("main")
    store.begin_run(KEY, "r9", model=MODEL, user_text="hi", client_id="cli", idempotency_key="r9")
    stores.close()
    again = Stores(tmp_path)
    assert again.recover_all() == {"main": [KEY]}
    s = again.get("main")
    e = s.entry(KEY)
    assert e["status"] == "failed" and e["abortedLastRun"] is True and e["lastRunId"] == "r9"
    custom = [ev for ev in s.transcript(KEY) if ev.get("customType") == "openclaw:run-interrupted"]
    assert custom[0]["data"] == {"runId": "r9", "reason": "gateway stopped or crashed mid-run"}
    last = s.chat_history(KEY)["messages"][-1]
    assert last["role"] == "system" and "interrupted" in last["content"][0]["text"]
    assert s.recover_interrupted() == []
    assert s.model_history(KEY) == [UserMessage("hi")]
    again.close()


def test_chat_history_paging_truncation_unknown(stores: Stores) -> None:
    store = stores.get("main")
    run(store, KEY, "r1", "one", "x" * 9000)
    run(store, KEY, "r2", "two", "Echo: two")
    h = store.chat_history(KEY, limit=1)
    assert [m["content"][0]["text"] for m in h["messages"]] == ["Echo: two"]
    assert h["hasMore"] is True and h["nextOffset"] == 1 and h["totalMessages"] == 4
    h2 = store.chat_history(KEY, limit=2, offset=1)
    assert [m["role"] for m in h2["messages"]] == ["assistant", "user"]
    assert len(h2["messages"][0]["content"][0]["text"]) < 8100 and h2["messages"][0]["content"][0]["text"].endswith("(truncated)")
    assert h2["messages"][1]["__openclaw"]["idempotencyKey"] == "r2:user" and h2["messages"][1]["__openclaw"]["seq"] == 3
    unknown = store.chat_history("agent:main:nope", limit=10)
    assert unknown["messages"] == [] and unknown["totalMessages"] == 0 and store.node("agent:main:nope") is None


def test_reset_compact_delete(stores: Stores) -> None:
    store = stores.get("main")
    run(store, KEY, "r1", "one", "a")
    sid = store.entry(KEY)["sessionId"]
    rev = store.entry(KEY)["lifecycleRevision"]
    e = store.reset(KEY)
    assert e["sessionId"] == sid and e["lifecycleRevision"] != rev and e["inputTokens"] == 0
    msgs = store.chat_history(KEY)["messages"]
    assert len(msgs) == 1 and msgs[0]["role"] == "system" and msgs[0]["__openclaw"]["kind"] == "reset"
    assert store.model_history(KEY) == []
    run(store, KEY, "r2", "two", "b")
    run(store, KEY, "r3", "three", "c")
    assert store.compact(KEY, 2) == (True, None)
    assert store.model_history(KEY) == [UserMessage("three"), AssistantMessage("c")]
    assert store.compact(KEY, 5)[0] is False
    gone = store.delete(KEY)
    assert gone["sessionId"] == sid and gone["events"][sid]
    assert store.node(KEY) is None and store.delete(KEY) is None
    assert store.db.execute("SELECT count(*) FROM transcript_events").fetchone()[0] == 0


def test_list_rows_filters_and_paging(stores: Stores) -> None:
    store = stores.get("main")
    for i in range(3):
        run(store, f"agent:main:s{i}", f"r{i}", "hi", "yo")
    store.patch_entry("agent:main:s0", {"label": "pinme", "pinnedAt": 1})
    res = store.list({"limit": 2})
    assert res["count"] == 2 and res["totalCount"] == 3 and res["hasMore"] is True and res["nextOffset"] == 2
    assert res["sessions"][0]["key"] == "agent:main:s0" and res["sessions"][0]["pinned"] is True
    row = res["sessions"][1]
    assert row["classification"] == "custom" and row["agentRuntime"] == {"id": "openclaw", "source": "session"}
    assert row["participants"][0]["identity"]["id"] == "cli" and row["totalTokensFresh"] is True
    assert store.list({"label": "pinme"})["totalCount"] == 1
    assert store.list({"search": "s2"})["sessions"][0]["key"] == "agent:main:s2"


def test_refuses_foreign_or_newer_file(tmp_path: Path) -> None:
    Stores(tmp_path).get("main").close()
    path = tmp_path / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    with pytest.raises(StoreError, match="belongs to agent"):
        open_db(path, "ops")
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=24")
    db.close()
    with pytest.raises(StoreError, match="schema version 24"):
        open_db(path, "main")


def test_writes_are_one_transaction(stores: Stores) -> None:
    store = stores.get("main")
    run(store, KEY, "r1", "one", "a")
    before = store.db.execute("SELECT count(*) FROM transcript_events").fetchone()[0]
    with pytest.raises(KeyError):
        store.append_message("agent:main:none", assistant_message("x", model=MODEL))
    bad = {"role": "assistant", "content": object()}  # not JSON: the append fails before anything is kept
    with pytest.raises(TypeError):
        store.append_message(KEY, bad)
    assert store.db.execute("SELECT count(*) FROM transcript_events").fetchone()[0] == before
    assert not store.db.in_transaction and os.path.exists(store.path)
