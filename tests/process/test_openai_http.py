"""The OpenAI-compatible HTTP API on the gateway port (brief §5): real gateway, real sockets, the
built-in offline `openclaw-local` provider (echo) behind it."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..harness import TOKEN, Gateway, Home, running_gateway, wait_for
from ..wsclient import open_client
from .http_kit import assert_security_headers, request, sse_events


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("openai"))
    cfg = home.default_config(http={"endpoints": {"chatCompletions": {"enabled": True}, "responses": {"enabled": True}}})
    cfg["agents"] = {"ownership": "explicit", "entries": {"main": {}, "work": {}}}
    cfg["memory"] = {"search": {"provider": "openclaw-local"}}
    home.write_config(cfg)
    with running_gateway(home) as gateway:
        yield gateway


def chat(gw: Gateway, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return request(gw, "POST", "/v1/chat/completions", body, headers=headers)


# ------------------------------------------------------------------ auth, models, validation


def test_bearer_required(gw: Gateway) -> None:
    for path, method in (("/v1/models", "GET"), ("/v1/chat/completions", "POST"), ("/v1/responses", "POST"), ("/v1/embeddings", "POST")):
        r = request(gw, method, path, {"model": "openclaw"} if method == "POST" else None, auth=False)
        assert r.status == 401, path
        assert r.json() == {"error": {"message": "Unauthorized", "type": "unauthorized"}}
        assert_security_headers(r)
    r = request(gw, "GET", "/v1/models", headers={"Authorization": "Bearer nope"}, auth=False)
    assert r.status == 401


def test_models(gw: Gateway) -> None:
    r = request(gw, "GET", "/v1/models")
    assert r.status == 200 and r.header("Cache-Control") == "no-store"
    ids = [m["id"] for m in r.json()["data"]]
    assert ids == ["openclaw", "openclaw/default", "openclaw/main", "openclaw/work"]
    assert r.json()["data"][0] == {"id": "openclaw", "object": "model", "created": 0, "owned_by": "openclaw", "permission": []}
    assert request(gw, "GET", "/v1/models/openclaw/work").json()["id"] == "openclaw/work"
    assert request(gw, "GET", "/v1/models/openclaw%2Fmain").json()["id"] == "openclaw/main"
    bad = request(gw, "GET", "/v1/models/gpt-4")
    assert bad.status == 400 and bad.json() == {"error": {"message": "Invalid model id.", "type": "invalid_request_error"}}
    wrong = request(gw, "POST", "/v1/models")
    assert wrong.status == 405 and wrong.header("Allow") == "GET"


def test_request_errors(gw: Gateway) -> None:
    r = request(gw, "POST", "/v1/chat/completions", raw=b"{nope")
    assert r.status == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = chat(gw, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status == 400
    assert r.json()["error"]["message"] == "Invalid `model`. Use `openclaw` or `openclaw/<agentId>`."
    r = chat(gw, {"model": "openclaw", "messages": [{"role": "system", "content": "be nice"}]})
    assert r.status == 400 and r.json()["error"]["message"] == "Missing user message in `messages`."
    r = chat(gw, {"model": "openclaw/nosuch", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status == 400
    r = request(gw, "GET", "/v1/chat/completions")
    assert r.status == 405 and r.header("Allow") == "POST" and r.body == b"Method Not Allowed"


# ------------------------------------------------------------------ chat completions


def test_chat_non_stream(gw: Gateway) -> None:
    r = chat(gw, {"model": "openclaw", "messages": [{"role": "user", "content": "hello there"}]})
    assert r.status == 200, r.body
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl_")
    assert body["model"] == "openclaw-local/echo"  # the offline provider says so (a real one: the target, below)
    assert body["system_fingerprint"] == "openclaw-local/echo"
    assert r.header("x-openclaw-model-used") == "openclaw-local/echo"
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "Echo: hello there"}, "finish_reason": "stop"}]
    usage = body["usage"]
    assert usage["completion_tokens"] == 3 and usage["total_tokens"] == usage["prompt_tokens"] + 3


def test_chat_history_and_system_go_along(gw: Gateway) -> None:
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "first"},
            {"role": "assistant", "content": "Echo: first"}, {"role": "user", "content": [{"type": "text", "text": "second"}]}]
    r = chat(gw, {"model": "openclaw/work", "messages": msgs})
    assert r.json()["choices"][0]["message"]["content"] == "Echo: second"
    assert r.json()["model"] == "openclaw-local/echo"  # the offline provider answered (a real one: the target)


def test_chat_stream_with_usage(gw: Gateway) -> None:
    resp, events = sse_events(gw, "/v1/chat/completions", {
        "model": "openclaw", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "/count 5"}]})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["x-openclaw-model-used"] == "openclaw-local/echo"
    datas = [d for _, d in events]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "1 2 3 4 5"
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1 and finish[0]["choices"][0]["finish_reason"] == "stop"
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 5
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "openclaw-local/echo" for c in chunks)


def test_session_key_header_and_user_field(gw: Gateway) -> None:
    chat(gw, {"model": "openclaw", "messages": [{"role": "user", "content": "keyed"}]},
         headers={"x-openclaw-session-key": "agent:main:http-keyed"})
    chat(gw, {"model": "openclaw", "user": "alice", "messages": [{"role": "user", "content": "as alice"}]})
    c = open_client(gw.url)
    try:
        keys = {s["key"] for s in c.call("sessions.list", {})["payload"]["sessions"]}
        assert "agent:main:http-keyed" in keys and "agent:main:openai-user:alice" in keys
        hist = c.call("chat.history", {"sessionKey": "agent:main:http-keyed"})["payload"]["messages"]
        assert [m["role"] for m in hist][-2:] == ["user", "assistant"]
    finally:
        c.close()


def test_disconnect_mid_stream_aborts_the_run(gw: Gateway) -> None:
    key = f"agent:main:http-abort-{time.monotonic_ns()}"
    resp, events = sse_events(gw, "/v1/chat/completions", {
        "model": "openclaw", "stream": True, "messages": [{"role": "user", "content": "/slow 200 /count 200"}]},
        headers={"x-openclaw-session-key": key})
    it = events
    got = [next(it)[1] for _ in range(3)]
    assert len(got) == 3  # role chunk + two numbers
    it.close()  # the client goes away mid-stream (closes the socket)
    resp.close()
    c = open_client(gw.url)
    try:
        def settled() -> dict[str, Any] | None:
            rows = c.call("sessions.list", {})["payload"]["sessions"]
            row = next((r for r in rows if r["key"] == key), None)
            return row if row is not None and row.get("status") not in (None, "running") else None

        row = wait_for(settled, timeout=8, what="the run to be aborted")
        assert row["status"] == "killed" or row.get("abortedLastRun") is True, row
    finally:
        c.close()


# ------------------------------------------------------------------ responses


def test_responses_non_stream(gw: Gateway) -> None:
    r = request(gw, "POST", "/v1/responses", {"model": "openclaw", "input": "ping", "instructions": "x"})
    assert r.status == 200, r.body
    body = r.json()
    assert body["object"] == "response" and body["status"] == "completed" and body["id"].startswith("resp_")
    item = body["output"][0]
    assert item["type"] == "message" and item["content"][0] == {"type": "output_text", "text": "Echo: ping", "annotations": []}
    assert body["usage"]["output_tokens"] == 2


def test_responses_stream_event_order(gw: Gateway) -> None:
    resp, events = sse_events(gw, "/v1/responses", {"model": "openclaw", "stream": True,
                                                    "input": [{"role": "user", "content": [{"type": "input_text", "text": "a b c"}]}]})
    assert resp.status == 200
    pairs = list(events)
    assert pairs[-1] == (None, "[DONE]")
    names = [e for e, _ in pairs[:-1]]
    deltas = [json.loads(d)["delta"] for e, d in pairs if e == "response.output_text.delta"]
    assert "".join(deltas) == "Echo: a b c"
    order = [n for i, n in enumerate(names) if n != "response.output_text.delta" or names[i - 1] != n]
    assert order == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                     "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                     "response.output_item.done", "response.completed"]
    seqs = [json.loads(d)["sequence_number"] for _, d in pairs[:-1]]
    assert seqs == list(range(len(seqs)))
    done = json.loads(pairs[-2][1])["response"]
    assert done["output"][0]["content"][0]["text"] == "Echo: a b c"


# ------------------------------------------------------------------ embeddings


def test_embeddings_local(gw: Gateway) -> None:
    r = request(gw, "POST", "/v1/embeddings", {"model": "openclaw", "input": ["hello world", "hello world"]})
    assert r.status == 200, r.body
    body = r.json()
    assert body["object"] == "list" and body["model"] == "openclaw"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert body["data"][0]["embedding"] == body["data"][1]["embedding"] and len(body["data"][0]["embedding"]) > 8
    b64 = request(gw, "POST", "/v1/embeddings", {"model": "openclaw", "input": "x", "encoding_format": "base64"})
    assert isinstance(b64.json()["data"][0]["embedding"], str)


@pytest.mark.parametrize(("body", "message"), [
    ({"input": "x"}, "Missing `model`."),
    ({"model": "gpt", "input": "x"}, "Invalid `model`. Use `openclaw` or `openclaw/<agentId>`."),
    ({"model": "openclaw", "input": ["", " "]}, "`input` must contain at least one non-empty string."),
    ({"model": "openclaw", "input": 3}, "`input` must be a string or an array of strings."),
    ({"model": "openclaw", "input": ["a"] * 129}, "Too many inputs (max 128)."),
    ({"model": "openclaw", "input": "a" * 8193}, "Input too long (max 8192 chars)."),
])
def test_embeddings_validation(gw: Gateway, body: dict[str, Any], message: str) -> None:
    r = request(gw, "POST", "/v1/embeddings", body)
    assert r.status == 400 and r.json() == {"error": {"message": message, "type": "invalid_request_error"}}


def test_ws_run_is_unaffected(gw: Gateway) -> None:
    """An HTTP stream in progress does not hold up a WS agent run on another session."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    conn.request("POST", "/v1/chat/completions", body=json.dumps({
        "model": "openclaw", "stream": True, "messages": [{"role": "user", "content": "/slow 100 /count 30"}]}),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    c = open_client(gw.url)
    try:
        rid = c.request("agent", {"message": "quick", "idempotencyKey": f"ws-{time.monotonic_ns()}", "agentId": "work"})
        first = c.response(rid, timeout=10)
        assert first["payload"]["status"] == "accepted"
        final = c.response(rid, timeout=10)
        assert final["ok"] and final["payload"]["status"] == "ok"
    finally:
        c.close()
        conn.close()
