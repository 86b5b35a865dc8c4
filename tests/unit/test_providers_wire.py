"""The OpenAI Responses and Anthropic Messages providers and embeddings against the fake servers
(real wire formats on 127.0.0.1): request shapes, streamed text, tool-call assembly, errors."""

from __future__ import annotations

import asyncio

import pytest
from openclaw.workers.agent.providers import catalog
from openclaw.workers.agent.providers.base import (
    AssistantMessage,
    Finish,
    ModelRef,
    ProviderError,
    TextDelta,
    ToolCall,
    ToolCallRequest,
    ToolResultMessage,
    Usage,
)

from tests.fakes.provider_servers import FakeProviderServer, Reply
from tests.unit.test_providers import WEATHER, request_for, run_chain, text_of


@pytest.fixture
def fake():
    with FakeProviderServer() as server:
        yield server


HISTORY = ("weather in Paris?", AssistantMessage("Checking.", (ToolCallRequest("call_a", "get_weather", {"city": "Paris"}),)),
           ToolResultMessage("call_a", "get_weather", "sunny", is_error=True), "and tomorrow?")


# ------------------------------------------------------------------ Responses


def test_responses_text_usage_and_request_shape(fake):
    fake.push(Reply(text="Hello from responses", usage=(20, 3)))
    config = fake.config("openai-responses")
    config["models"]["providers"]["fake"]["maxTokens"] = 99
    events = run_chain(config, *HISTORY, tools=[WEATHER])
    assert text_of(events) == "Hello from responses"
    assert Usage(input_tokens=20, output_tokens=3) in events
    assert isinstance(events[-1], Finish) and events[-1].stop_reason == "stop"
    assert events[-1].response_id.startswith("resp_")
    req = fake.wait_for_requests(1)[0]
    assert req.path == "/v1/responses" and req.headers["authorization"] == "Bearer test-key"
    body = req.body
    assert set(body) == {"model", "input", "stream", "store", "tools", "max_output_tokens"}
    assert body["stream"] is True and body["store"] is False and body["max_output_tokens"] == 99
    assert body["tools"][0]["type"] == "function" and body["tools"][0]["name"] == "get_weather"
    assert body["input"][0] == {"type": "message", "role": "system", "content": "be brief"}
    assert {"type": "function_call", "call_id": "call_a", "name": "get_weather",
            "arguments": '{"city": "Paris"}'} in body["input"]
    assert {"type": "function_call_output", "call_id": "call_a", "output": "sunny"} in body["input"]


def test_responses_function_calls(fake):
    fake.push(Reply.tools({"id": "call_x", "name": "get_weather", "arguments": {"city": "Oslo", "unit": "C"}},
                          text="One moment"))
    events = run_chain(fake.config("openai-responses"), "weather?", tools=[WEATHER])
    assert [e for e in events if isinstance(e, ToolCall)] == [ToolCall("call_x", "get_weather", {"city": "Oslo", "unit": "C"})]
    assert text_of(events) == "One moment" and events[-1].stop_reason == "tool_use"


def test_responses_incomplete_and_stream_error(fake):
    fake.push(Reply(text="cut short", finish_reason="length"))
    assert run_chain(fake.config("openai-responses"), "x")[-1].stop_reason == "length"
    fake.push(Reply(text="a b", stream_error="kaput"))
    with pytest.raises(ProviderError) as err:
        run_chain(fake.config("openai-responses"), "x")
    assert "kaput" in err.value.message


# ------------------------------------------------------------------ Anthropic


def test_anthropic_text_usage_and_request_shape(fake):
    fake.push(Reply(text="Bonjour tout le monde", usage=(30, 5)))
    events = run_chain(fake.config("anthropic-messages"), *HISTORY, tools=[WEATHER])
    assert text_of(events) == "Bonjour tout le monde"
    assert Usage(input_tokens=30, output_tokens=5) in events
    assert events[-1].stop_reason == "stop" and events[-1].response_id.startswith("msg_")
    req = fake.wait_for_requests(1)[0]
    assert req.path == "/anthropic/v1/messages"
    assert req.headers["x-api-key"] == "test-key" and req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    body = req.body
    assert set(body) == {"model", "messages", "system", "tools", "max_tokens", "stream"}
    assert body["system"] == "be brief" and body["max_tokens"] == 8192 and body["stream"] is True
    assert body["tools"] == [{"name": "get_weather", "description": "Weather of a city", "input_schema": WEATHER.parameters}]
    assert body["messages"] == [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
                                          {"type": "tool_use", "id": "call_a", "name": "get_weather",
                                           "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_a", "content": "sunny", "is_error": True},
                                     {"type": "text", "text": "and tomorrow?"}]},
    ]


def test_anthropic_tool_use_blocks(fake):
    fake.push(Reply.tools({"id": "toolu_1", "name": "get_weather", "arguments": {"city": "Rome"}},
                          {"id": "toolu_2", "name": "noop", "arguments": {}}))
    events = run_chain(fake.config("anthropic-messages"), "x", tools=[WEATHER])
    assert [e for e in events if isinstance(e, ToolCall)] == [
        ToolCall("toolu_1", "get_weather", {"city": "Rome"}), ToolCall("toolu_2", "noop", {})]
    assert events[-1].stop_reason == "tool_use" and text_of(events) == ""


def test_anthropic_errors(fake, monkeypatch):
    monkeypatch.setattr(catalog, "RETRY_ATTEMPTS", 1)
    fake.push(Reply(text="a b c", stream_error="Overloaded"))
    with pytest.raises(ProviderError) as err:
        run_chain(fake.config("anthropic-messages"), "x")
    assert err.value.kind == "overloaded" and "Overloaded" in err.value.message
    fake.push(Reply(status=529, error="Overloaded"))
    with pytest.raises(ProviderError) as err:
        run_chain(fake.config("anthropic-messages"), "x")
    assert err.value.kind == "overloaded" and err.value.status == 529
    config = fake.config("anthropic-messages")
    config["models"]["providers"]["fake"]["apiKey"] = "wrong"
    with pytest.raises(ProviderError) as err:
        run_chain(config, "x")
    assert err.value.kind == "auth"


def test_anthropic_cut_connection_is_an_error_after_output(fake):
    fake.push(Reply(text="some text", cut=True))
    got = []

    async def go():
        try:
            async for ev in catalog.stream_with_fallback(
                fake.config("anthropic-messages"), [ModelRef("fake", "fake-model")],
                lambda ref: request_for(ref, "x"), {}):
                got.append(ev)
        finally:
            await catalog.aclose()

    with pytest.raises(ProviderError) as err:
        asyncio.run(go())
    assert err.value.kind == "network"
    assert got == [TextDelta("some")]


# ------------------------------------------------------------------ embeddings


def embed(config, inputs, override=None, agent="main", env=None):
    async def go():
        try:
            return await catalog.embed(config, agent, inputs, override, env=env or {})
        finally:
            await catalog.aclose()

    return asyncio.run(go())


def test_embeddings_request_shape_and_order(fake):
    result = embed(fake.embedding_config(), ["hello", "world wide"])
    assert len(result.vectors) == 2 and len(result.vectors[0]) == 8 and result.vectors[0] != result.vectors[1]
    assert result.usage_tokens == 3 and result.model == "fake-embed"
    req = fake.wait_for_requests(1)[0]
    assert req.path == "/v1/embeddings" and req.body == {"model": "fake-embed", "input": ["hello", "world wide"]}
    assert req.headers["authorization"] == "Bearer test-key"
    embed(fake.embedding_config(), ["x"], override="openai/other-model")
    assert fake.requests[-1].body["model"] == "other-model"
    with pytest.raises(ProviderError) as err:
        embed(fake.embedding_config(), ["x"], override="voyage/v3")
    assert err.value.kind == "bad_request" and "does not allow" in err.value.message


def test_embeddings_not_configured_and_agent_override(fake):
    with pytest.raises(ProviderError) as err:
        embed({}, ["x"])
    assert err.value.kind == "config"
    assert err.value.message == "no embedding provider configured (set memory.search.remote.baseUrl/apiKey)"
    with pytest.raises(ProviderError):
        embed({"memory": {"search": {"provider": "openai"}}}, ["x"])  # no key anywhere
    config = {"agents": {"entries": {"main": {}, "ops": {"memory": {"search": fake.embedding_config("ops-embed")["memory"]["search"]}}}}}
    assert embed(config, ["x"], agent="ops").model == "ops-embed"
    with pytest.raises(ProviderError):
        embed(config, ["x"], agent="main")


def test_embeddings_local_is_deterministic_and_explicit():
    config = {"memory": {"search": {"provider": "openclaw-local"}}}
    a = embed(config, ["the cat sat", "the cat sat", "quantum flux"])
    assert a.vectors[0] == a.vectors[1] != a.vectors[2]
    assert abs(sum(v * v for v in a.vectors[0]) - 1.0) < 1e-9
    assert a.model.startswith("openclaw-local/")


def test_embeddings_retry_on_429(fake):
    fake.push(Reply.rate_limited("0.1"))
    assert len(embed(fake.embedding_config(), ["x"]).vectors) == 1
    assert len(fake.requests) == 2
