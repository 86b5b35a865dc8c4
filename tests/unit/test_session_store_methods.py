"""sessions.* and chat.history handlers over a real store, with a stub worker (publish/subscribe recorded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openclaw.ipc import envelope
from openclaw.ipc.errors import GatewayError
from openclaw.workers.agent import sessions_methods
from openclaw.workers.agent.providers.base import ModelRef
from openclaw.workers.agent.store.messages import assistant_message
from openclaw.workers.agent.store.stores import Stores

CALLER = envelope.CallerInfo("c1", "cli", "cli", "operator", ["operator.admin"])
MODEL = ModelRef("openclaw-local", "echo")


class StubWorker:
    def __init__(self, state: Path) -> None:
        self.stores = Stores(state)
        self.config: dict[str, Any] = {}
        self.default_agent = "main"
        self.published: list[tuple] = []
        self.subs: list[tuple] = []

    def publish(self, topic: str, conn_id: str, event: str, payload: Any) -> None:
        self.published.append((topic, conn_id, event, payload))

    def subscribe(self, conn_id: str, topic: str, on: bool = True) -> None:
        self.subs.append((conn_id, topic, on))


@pytest.fixture
def w(tmp_path: Path):
    worker = StubWorker(tmp_path)
    yield worker, sessions_methods.methods(worker)
    worker.stores.close()


def test_list_patch_describe_history(w) -> None:
    worker, m = w
    store = worker.stores.get("main")
    store.begin_run("agent:main:main", "r1", model=MODEL, user_text="hi", client_id="cli", idempotency_key="r1")
    store.append_message("agent:main:main", assistant_message("Echo: hi", model=MODEL))
    store.finish_run("agent:main:main", "r1", status="done", usage={"input": 2, "output": 2}, model=MODEL)
    res = m["sessions.list"]({}, CALLER)
    assert res["path"].endswith("agents/main/agent/openclaw-agent.sqlite") and res["limitApplied"] == 100
    assert [s["key"] for s in res["sessions"]] == ["agent:main:main"] and res["sessions"][0]["isMain"] is True
    p = m["sessions.patch"]({"key": "main", "label": "L", "model": "openai/gpt-x"}, CALLER)
    assert p["ok"] and p["entry"]["label"] == "L" and p["resolved"]["model"] == "gpt-x"
    assert worker.published[-1][2] == "sessions.changed" and worker.published[-1][3]["reason"] == "patch"
    created = m["sessions.patch"]({"key": "agent:main:new"}, CALLER)
    assert created["entry"]["createdVia"] == "operator"
    d = m["sessions.describe"]({"key": "main", "includeLastMessage": True}, CALLER)["session"]
    assert d["lastMessagePreview"] == "Echo: hi" and d["activitySummary"]["canEnsure"] is True
    h = m["chat.history"]({"sessionKey": "main", "limit": 1}, CALLER)
    assert h["sessionKey"] == "main" and h["messages"][0]["role"] == "assistant" and h["hasMore"] is True
    pv = m["sessions.preview"]({"keys": ["main", "agent:main:zzz"]}, CALLER)["previews"]
    assert pv[0]["items"] == [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "Echo: hi"}]
    assert pv[1] == {"key": "agent:main:zzz", "status": "missing", "items": []}


def test_closed_params_and_errors(w) -> None:
    _, m = w
    for method, params, msg in [
        ("sessions.patch", {"key": "main", "bogus": 1}, "at root: unexpected property 'bogus'"),
        ("sessions.list", {"limit": 0}, "limit must be integer >= 1"),
        ("chat.history", {}, "must have required property 'sessionKey'"),
        ("sessions.delete", {"key": "main"}, "Cannot delete the main session (agent:main:main)."),
        ("sessions.patch", {"key": "agent:main"}, "expected agent:<agentId>:<name>"),
    ]:
        with pytest.raises(GatewayError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            m[method](params, CALLER)


def test_create_reset_delete_compact_subscribe(w, tmp_path: Path) -> None:
    worker, m = w
    c = m["sessions.create"]({"label": "x"}, CALLER)
    assert c["key"].startswith("agent:main:dashboard:") and c["runStarted"] is False
    r = m["sessions.reset"]({"key": c["key"]}, CALLER)
    assert r["entry"]["sessionId"] == c["sessionId"]
    assert m["sessions.compact"]({"key": c["key"], "maxLines": 5}, CALLER)["compacted"] is False
    d = m["sessions.delete"]({"key": c["key"]}, CALLER)
    assert d["deleted"] is True and Path(d["archived"][0]).is_file()
    assert m["sessions.delete"]({"key": c["key"]}, CALLER) == {"ok": True, "key": c["key"], "deleted": False, "archived": []}
    assert m["sessions.subscribe"]({}, CALLER) == {"subscribed": True}
    assert m["sessions.messages.subscribe"]({"key": "main"}, CALLER) == {"subscribed": True, "key": "agent:main:main"}
    assert worker.subs == [("c1", "sessions", True), ("c1", "agent:main:main", True)]
