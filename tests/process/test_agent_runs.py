"""`agent` runs end to end over WebSocket against a real gateway: the two-phase answer, the event
sequence of the reference capture, watchers, idempotency, queueing, aborts, waits, timeouts, a
killed worker, and the `openclaw agent` CLI. Providers: the built-in openclaw-local and the fake
OpenAI server (tests/fakes) on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..fakes.provider_servers import FakeProviderServer, Reply
from ..harness import OPENCLAW, Gateway, Home, running_gateway, wait_for
from ..wsclient import Client, open_client

CAPTURE_ORDER = [
    "agent:lifecycle:start", "agent:lifecycle:model", "agent:assistant:", "chat:delta", "agent:usage:",
    "agent:lifecycle:finishing", "agent:lifecycle:model", "agent:lifecycle:end", "chat:final",
]


def kind(frame: dict[str, Any]) -> str:
    p = frame["payload"]
    if frame["event"] == "agent":
        return f"agent:{p['stream']}:{p['data'].get('phase', '')}"
    return f"chat:{p['state']}"


def run_frames(frames: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("type") == "event" and f.get("event") in ("agent", "chat")
            and f["payload"].get("runId") == run_id]


def squash(kinds: list[str]) -> list[str]:
    """Collapse repeats of the streamed part (assistant + chat delta) to one of each."""
    out: list[str] = []
    for k in kinds:
        if k in ("agent:assistant:", "chat:delta") and k in out[-3:]:
            continue
        out.append(k)
    return out


def assert_contiguous(frames: list[dict[str, Any]]) -> None:
    seqs = [f["seq"] for f in frames if f.get("type") == "event" and "seq" in f]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


def final_of(c: Client, rid: str, timeout: float = 20) -> dict[str, Any]:
    """The second res of a two-phase call (the first, `accepted`, goes to c.events too)."""
    first = c.response(rid, timeout)
    if first.get("ok") and first["payload"].get("status") == "accepted":
        c.events.append(first)
        return c.response(rid, timeout)
    return first


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("runs"))
    with running_gateway(home) as gateway:
        yield gateway


def test_agent_two_phase_capture_order_watcher_and_replay(gw: Gateway) -> None:
    watcher = open_client(gw.url, scopes=["operator.read"])
    sub = watcher.call("sessions.messages.subscribe", {"key": "main"})
    assert sub["ok"] and sub["payload"]["key"] == "agent:main:main", sub
    c = open_client(gw.url)
    rid = c.request("agent", {"message": "hello from a test", "agentId": "main", "idempotencyKey": "run-order-1"})
    accepted = c.response(rid, 10)
    assert accepted["ok"], accepted
    acc = accepted["payload"]
    assert acc["status"] == "accepted" and acc["runId"] == "run-order-1"
    assert acc["sessionKey"] == "agent:main:main" and acc["agentId"] == "main" and isinstance(acc["acceptedAt"], int)
    final = c.response(rid, 20)
    assert final["ok"], final
    p = final["payload"]
    assert p["status"] == "ok" and p["summary"] == "completed" and p["runId"] == "run-order-1"
    assert p["result"]["payloads"] == [{"text": "Echo: hello from a test", "mediaUrl": None}]
    assert p["result"]["meta"]["agentMeta"]["provider"] == "openclaw-local"
    frames = run_frames(c.events, "run-order-1")
    assert squash([kind(f) for f in frames]) == CAPTURE_ORDER
    assert_contiguous(c.events)
    for f in frames:
        pl = f["payload"]
        assert pl["sessionKey"] == "agent:main:main" and pl["agentId"] == "main"
        if f["event"] == "agent":
            assert {"runId", "stream", "data", "seq", "ts"} <= set(pl)
            assert ("sessionId" in pl) == (pl["stream"] == "lifecycle")
    texts = [f["payload"]["data"]["text"] for f in frames if kind(f) == "agent:assistant:"]
    assert texts[-1] == "Echo: hello from a test" and all(b.startswith(a) for a, b in itertools.pairwise(texts))
    chat_deltas = [f["payload"] for f in frames if kind(f) == "chat:delta"]
    assert "".join(d["deltaText"] for d in chat_deltas) == "Echo: hello from a test"
    # the watcher saw the same run, with its own contiguous seq
    wait_for(lambda: any(kind(f) == "chat:final" for f in run_frames(watcher.events + _drain(watcher), "run-order-1")),
             what="the watcher's chat final")
    seen = run_frames(watcher.events, "run-order-1")
    assert squash([kind(f) for f in seen]) == CAPTURE_ORDER
    assert_contiguous(watcher.events)
    assert any(f.get("event") == "session.message" for f in watcher.events)
    # the same key again: the cached final answer is the only res
    rid2 = c.request("agent", {"message": "hello from a test", "agentId": "main", "idempotencyKey": "run-order-1"})
    replay = c.response(rid2, 10)
    assert replay["ok"] and replay["payload"] == p
    with pytest.raises(TimeoutError):
        c.response(rid2, 0.3)
    # the transcript has both messages
    hist = c.call("chat.history", {"sessionKey": "agent:main:main"})["payload"]
    roles = [m["role"] for m in hist["messages"]]
    assert roles[-2:] == ["user", "assistant"]
    c.close()
    watcher.close()


def _drain(c: Client) -> list[dict[str, Any]]:
    try:
        while True:
            c.events.append(c.recv(0.05))
    except TimeoutError:
        pass
    return c.events


def test_in_flight_queue_on_one_session_and_parallel_sessions(gw: Gateway) -> None:
    c = open_client(gw.url)
    slow = "/slow 150 a b c d e f"
    r1 = c.request("agent", {"message": slow, "sessionKey": "agent:main:q", "idempotencyKey": "q-1"})
    assert c.response(r1, 10)["payload"]["status"] == "accepted"
    dup = c.request("agent", {"message": slow, "sessionKey": "agent:main:q", "idempotencyKey": "q-1"})
    res = c.response(dup, 10)
    assert res["ok"] and res["payload"] == {"runId": "q-1", "status": "in_flight", "sessionKey": "agent:main:q",
                                            "agentId": "main"}
    r2 = c.request("agent", {"message": "second", "sessionKey": "agent:main:q", "idempotencyKey": "q-2"})
    assert c.response(r2, 10)["payload"]["status"] == "accepted"
    r3 = c.request("agent", {"message": "/slow 50 other", "sessionKey": "agent:main:p", "idempotencyKey": "p-1"})
    assert c.response(r3, 10)["payload"]["status"] == "accepted"
    finals = {r: c.response(r, 30) for r in (r3, r1, r2)}
    assert all(f["ok"] for f in finals.values()), finals

    def at(run_id: str, phase: str) -> int:
        return next(i for i, f in enumerate(c.events) if f.get("event") == "agent" and f["payload"]["runId"] == run_id
                    and f["payload"]["data"].get("phase") == phase)

    assert at("q-2", "start") > at("q-1", "end")  # queued behind q-1 on its session
    assert at("p-1", "start") < at("q-1", "end")  # another session ran in parallel
    assert at("p-1", "end") < at("q-1", "end")
    assert_contiguous(c.events)
    c.close()


def test_chat_send_abort_and_agent_wait(gw: Gateway) -> None:
    c = open_client(gw.url)
    res = c.call("chat.send", {"sessionKey": "agent:main:abort", "message": "/slow 200 one two three four five six seven",
                               "idempotencyKey": "ab-1"})
    assert res["ok"] and res["payload"] == {"runId": "ab-1", "status": "started"}, res
    wait_for(lambda: any(kind(f) == "agent:assistant:" for f in run_frames(_drain(c), "ab-1")), what="first text")
    again = c.call("chat.send", {"sessionKey": "agent:main:abort", "message": "/slow 200 one two three four five six seven",
                                 "idempotencyKey": "ab-1"})
    assert again["payload"] == {"runId": "ab-1", "status": "in_flight"}
    conflict = c.call("chat.send", {"sessionKey": "agent:main:abort", "message": "different", "idempotencyKey": "ab-1"})
    assert not conflict["ok"] and conflict["error"]["details"] == {"reason": "chat-request-conflict"}
    ab = c.call("chat.abort", {"sessionKey": "agent:main:abort", "runId": "ab-1"})
    assert ab["payload"] == {"ok": True, "aborted": True, "runIds": ["ab-1"]}
    waited = c.call("agent.wait", {"runId": "ab-1", "timeoutMs": 5000})["payload"]
    assert waited["status"] == "error" and waited["error"] == "aborted" and waited["stopReason"] == "rpc"
    frames = run_frames(_drain(c), "ab-1")
    kinds = [kind(f) for f in frames]
    assert kinds[:2] == ["chat:status", "agent:run_status:preparing_workspace"]
    assert kinds[-3:] == ["chat:aborted", "agent:lifecycle:end", "agent:lifecycle:error"]
    assert frames[-1]["payload"]["data"]["error"] == "This operation was aborted"
    assert frames[-2]["payload"]["data"]["status"] == "cancelled"
    assert frames[0]["payload"].get("agentId") == "main"
    idle = c.call("chat.abort", {"sessionKey": "agent:main:abort"})["payload"]
    assert idle == {"ok": True, "aborted": False, "runIds": []}
    assert c.call("sessions.abort", {"key": "agent:main:abort"})["payload"] == {
        "ok": True, "abortedRunId": None, "status": "no-active-run"}
    assert c.call("agent.wait", {"runId": "never-ran", "timeoutMs": 100})["payload"] == {"runId": "never-ran",
                                                                                          "status": "timeout"}
    # a finished chat.send key answers ok
    done = c.call("chat.send", {"sessionKey": "agent:main:abort2", "message": "hi", "idempotencyKey": "ab-2"})
    assert done["payload"]["status"] == "started"
    ok = c.call("agent.wait", {"runId": "ab-2", "timeoutMs": 10000})["payload"]
    assert ok["status"] == "ok" and ok["terminalReply"]["text"] == "Echo: hi"
    assert c.call("chat.send", {"sessionKey": "agent:main:abort2", "message": "hi", "idempotencyKey": "ab-2"})[
        "payload"] == {"runId": "ab-2", "status": "ok"}
    c.close()


def test_agent_timeout(gw: Gateway) -> None:
    c = open_client(gw.url)
    rid = c.request("agent", {"message": "/slow 400 a b c d e f g", "sessionKey": "agent:main:slow", "timeout": 1,
                              "idempotencyKey": "to-1"})
    final = final_of(c, rid)
    assert not final["ok"]
    assert final["error"]["code"] == "AGENT_TIMEOUT" and final["error"]["message"] == "Agent run timed out after 1s"
    assert final["payload"] == {"runId": "to-1", "status": "error", "summary": "Agent run timed out after 1s"}
    kinds = [kind(f) for f in run_frames(c.events, "to-1")]
    assert kinds[-2:] == ["agent:lifecycle:error", "chat:error"]
    assert c.call("agent.wait", {"runId": "to-1", "timeoutMs": 100})["payload"]["error"] == "timeout"
    row = c.call("sessions.describe", {"key": "agent:main:slow"})
    assert row["ok"], row
    c.close()


def test_params_are_checked(gw: Gateway) -> None:
    c = open_client(gw.url)
    bad = c.call("agent", {"message": "x", "idempotencyKey": "b-1", "bogus": 1})
    assert bad["error"]["message"] == "invalid agent params: at root: unexpected property 'bogus'"
    missing = c.call("agent", {"message": "x"})
    assert missing["error"]["message"] == "invalid agent params: must have required property 'idempotencyKey'"
    http_only = c.call("agent", {"message": "x", "idempotencyKey": "b-2", "__http": {"history": []}})
    assert "unexpected property '__http'" in http_only["error"]["message"]
    unknown = c.call("agent", {"message": "x", "idempotencyKey": "b-3", "agentId": "nope"})
    assert unknown["error"]["message"] == 'invalid agent params: unknown agent id "nope"'
    no_key = c.call("chat.send", {"message": "x", "idempotencyKey": "b-4"})
    assert no_key["error"]["message"] == "session mutation target is unavailable"
    agents = c.call("agents.list", {})["payload"]
    assert agents["defaultId"] == "main" and agents["agents"][0]["id"] == "main"
    assert c.call("models.list", {})["payload"]["models"][0]["provider"] == "openclaw-local"
    c.close()


def test_openai_provider_stream_and_abort_closes_upstream(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with FakeProviderServer() as fake:
        cfg = home.default_config()
        cfg.update(fake.config("openai-completions"))
        home.write_config(cfg)
        with running_gateway(home, env=home.env(OPENAI_API_KEY="unused")) as gateway:
            c = open_client(gateway.url)
            fake.push(Reply(text="Hello from fake model."))
            rid = c.request("agent", {"message": "hello", "idempotencyKey": "oa-1"})
            final = final_of(c, rid)
            assert final["ok"], final
            assert final["payload"]["result"]["payloads"][0]["text"] == "Hello from fake model."
            frames = run_frames(c.events, "oa-1")
            assert squash([kind(f) for f in frames]) == CAPTURE_ORDER
            model = next(f for f in frames if kind(f) == "agent:lifecycle:model")["payload"]["data"]
            assert model == {"phase": "model", "provider": "fake", "model": "fake-model"}
            assert frames[0]["payload"]["sessionKey"] == "agent:main:explicit:oa-1"
            assert frames[0]["payload"]["sessionId"] == "oa-1"
            body = fake.wait_for_requests(1)[0].body
            assert body["stream"] is True and body["messages"][-1]["content"] == "hello"
            # abort mid-stream: the fake provider sees the client go away
            fake.clear()
            fake.push(Reply(text="one two three four five six", chunk_delay_s=0.5))
            c.call("chat.send", {"sessionKey": "agent:main:main", "message": "go", "idempotencyKey": "oa-2"})
            wait_for(lambda: any(kind(f) == "agent:assistant:" for f in run_frames(_drain(c), "oa-2")), what="text")
            assert c.call("chat.abort", {"sessionKey": "main"})["payload"]["runIds"] == ["oa-2"]
            assert fake.wait_disconnected(5)
            c.close()


def test_worker_killed_mid_run_ends_the_run_and_marks_the_session(tmp_path: Path) -> None:
    home = Home(tmp_path)
    with running_gateway(home) as gateway:
        c = open_client(gateway.url)
        rid = c.request("agent", {"message": "/slow 300 a b c d e f g h", "sessionKey": "agent:main:crash",
                                  "idempotencyKey": "kill-1"})
        assert c.response(rid, 10)["payload"]["status"] == "accepted"
        wait_for(lambda: any(kind(f) == "agent:assistant:" for f in run_frames(_drain(c), "kill-1")), what="text")
        old = gateway.children_by_title()["agent"]
        os.kill(old, signal.SIGKILL)
        final = c.response(rid, 15)
        assert not final["ok"] and final["payload"]["runId"] == "kill-1" and final["payload"]["status"] == "error"
        err = [f for f in run_frames(c.events, "kill-1") if kind(f) == "agent:lifecycle:error"]
        assert err and err[-1]["payload"]["sessionKey"] == "agent:main:crash"
        wait_for(lambda: gateway.children_by_title().get("agent") not in (None, old), timeout=20, what="agent restart")

        def described() -> dict[str, Any] | None:
            r = c.call("sessions.describe", {"key": "agent:main:crash"})
            return r["payload"] if r.get("ok") else None

        wait_for(described, timeout=15, what="the restarted agent worker answering")
        db = home.state_dir / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            entry = json.loads(con.execute("SELECT entry_json FROM session_nodes WHERE session_key=?",
                                           ("agent:main:crash",)).fetchone()[0])
            events = [r[0] for r in con.execute("SELECT event_json FROM transcript_events")]
        assert entry["status"] == "failed" and entry["abortedLastRun"] is True and entry["lastRunId"] == "kill-1"
        assert any("openclaw:run-interrupted" in e for e in events)
        # the session still takes runs
        rid2 = c.request("agent", {"message": "after", "sessionKey": "agent:main:crash", "idempotencyKey": "kill-2"})
        assert final_of(c, rid2)["ok"]
        c.close()


def test_gateway_stopped_mid_run_answers_the_run_and_marks_the_session(tmp_path: Path) -> None:
    """SIGTERM while a run streams: the client gets the run's error events and a final error res naming
    the run ("gateway stopping") before the gateway exits; the transcript says the run was cut off."""
    home = Home(tmp_path)
    with running_gateway(home) as gateway:
        c = open_client(gateway.url)
        rid = c.request("agent", {"message": "/slow 300 a b c d e f g h", "sessionKey": "agent:main:stopped",
                                  "idempotencyKey": "stop-1"})
        assert c.response(rid, 10)["payload"]["status"] == "accepted"
        wait_for(lambda: any(kind(f) == "agent:assistant:" for f in run_frames(_drain(c), "stop-1")), what="text")
        gateway.signal(signal.SIGTERM)
        final = c.response(rid, 15)
        assert not final["ok"] and final["payload"]["runId"] == "stop-1" and final["error"]["message"] == "gateway stopping"
        assert [f for f in run_frames(c.events, "stop-1") if kind(f) == "agent:lifecycle:error"]
        c.close()
        assert gateway.wait_exit(15) == 0
    db = home.state_dir / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        entry = json.loads(con.execute("SELECT entry_json FROM session_nodes WHERE session_key=?",
                                       ("agent:main:stopped",)).fetchone()[0])
    assert entry["status"] == "failed" and entry["abortedLastRun"] is True and entry["lastRunId"] == "stop-1"


def test_openclaw_agent_cli(gw: Gateway) -> None:
    env = gw.home.env()
    out = subprocess.run(check=False, args=[OPENCLAW, "agent", "--message", "hi there", "--json"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["status"] == "ok" and payload["result"]["payloads"][0]["text"] == "Echo: hi there"
    human = subprocess.run(check=False, args=[OPENCLAW, "agent", "-m", "plain"], capture_output=True, text=True, timeout=60, env=env)
    assert human.returncode == 0 and human.stdout == "Echo: plain\n", human
    failed = subprocess.run(check=False, args=[OPENCLAW, "agent", "-m", "/fail", "--json"], capture_output=True, text=True, timeout=60,
                            env=env)
    assert failed.returncode == 1
    err = json.loads(failed.stdout)
    assert err["ok"] is False and err["origin"] == "gateway" and err["error"]["type"] == "cli_error"
    usage = subprocess.run(check=False, args=[OPENCLAW, "agent"], capture_output=True, text=True, timeout=60, env=env)
    assert usage.returncode == 2 and "--message" in usage.stderr
    t0 = time.monotonic()
    call = subprocess.run(check=False, args=[OPENCLAW, "gateway", "call", "agent", "--expect-final", "--params",
                           json.dumps({"message": "via call", "idempotencyKey": "call-1"})],
                          capture_output=True, text=True, timeout=60, env=env)
    assert call.returncode == 0, call.stderr
    assert json.loads(call.stdout)["result"]["payloads"][0]["text"] == "Echo: via call"
    assert time.monotonic() - t0 < 30
