"""Providers: model chains, the offline openclaw-local provider, fallback and retries (no network:
the HTTP providers talk to tests/fakes/provider_servers.py on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time

import pytest
from openclaw.workers.agent.providers import catalog
from openclaw.workers.agent.providers.base import (
    AssistantMessage,
    Fallback,
    Finish,
    ModelRef,
    ModelRequest,
    ProviderError,
    TextDelta,
    ToolCall,
    ToolCallRequest,
    ToolResultMessage,
    ToolSpec,
    Usage,
    UserMessage,
)

from tests.fakes.provider_servers import FakeProviderServer, Reply

LOCAL = ModelRef("openclaw-local", "echo")
WEATHER = ToolSpec("get_weather", "Weather of a city", {"type": "object", "properties": {"city": {"type": "string"}}})


@pytest.fixture
def fake():
    with FakeProviderServer() as server:
        yield server


def request_for(ref: ModelRef, *messages, tools=(), system="be brief", timeout_s=10.0) -> ModelRequest:
    msgs = tuple(UserMessage(m) if isinstance(m, str) else m for m in messages)
    return ModelRequest(model=ref, system=system, messages=msgs, tools=tuple(tools), timeout_s=timeout_s)


def run_chain(config, *messages, chain=None, tools=(), env=None, timeout_s=10.0):
    async def go():
        refs = chain if chain is not None else catalog.resolve_chain(config, "main")
        events = []
        try:
            async for ev in catalog.stream_with_fallback(
                config, refs, lambda ref: request_for(ref, *messages, tools=tools, timeout_s=timeout_s), env or {}
            ):
                events.append(ev)
        finally:
            await catalog.aclose()
        return events

    return asyncio.run(go())


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# ------------------------------------------------------------------ chains


def test_no_provider_configured_means_openclaw_local():
    assert catalog.resolve_chain({}, "main") == [LOCAL]
    assert catalog.resolve_chain({"agents": {"defaults": {}}}, "ops") == [LOCAL]


def test_chain_primary_and_fallbacks_from_defaults_and_entry():
    config = {
        "models": {"providers": {"a": {"baseUrl": "http://127.0.0.1:1/v1", "models": [{"id": "m1", "name": "M1"}]},
                                 "b": {"baseUrl": "http://127.0.0.1:1/v1", "models": [{"id": "m2", "name": "M2"}]}}},
        "agents": {"defaults": {"model": {"primary": "a/m1", "fallbacks": ["b/m2", "a/m1"]},
                                "models": {"b/m2": {"alias": "fast"}}},
                   "entries": {"ops": {"model": "b/m2"}}},
    }
    assert catalog.resolve_chain(config, "main") == [ModelRef("a", "m1"), ModelRef("b", "m2")]
    assert catalog.resolve_chain(config, "ops") == [ModelRef("b", "m2")]
    assert catalog.resolve_chain(config, "main", "fast") == [ModelRef("b", "m2"), ModelRef("a", "m1")]
    assert catalog.resolve_chain(config, "main", "m2") == [ModelRef("b", "m2"), ModelRef("a", "m1")]
    assert catalog.resolve_chain(config, "main", "openclaw-local/echo")[0] == LOCAL
    with pytest.raises(ProviderError) as err:
        catalog.resolve_chain(config, "main", "nosuch")
    assert err.value.kind == "config"


def test_unknown_provider_fails_with_the_upstream_message():
    with pytest.raises(ProviderError) as err:
        catalog.provider_for({}, ModelRef("nosuchprov", "x"), {})
    assert err.value.kind == "config"
    assert err.value.message.startswith("Unknown model: nosuchprov/x. Run `openclaw models list --refresh --provider nosuchprov`")


def test_missing_key_names_the_provider(fake):
    config = fake.config()
    del config["models"]["providers"]["fake"]["apiKey"]
    with pytest.raises(ProviderError) as err:
        catalog.provider_for(config, ModelRef("fake", "fake-model"), {})
    assert err.value.message == "No route-compatible authentication source is configured for fake."
    # env key of a bundled provider id, "${ENV}" and SecretRef forms
    assert catalog.provider_for({}, ModelRef("xai", "grok"), {"XAI_API_KEY": "k"}).settings.api_key == "k"
    config["models"]["providers"]["fake"]["apiKey"] = "${MY_KEY}"
    assert catalog.provider_for(config, ModelRef("fake", "m"), {"MY_KEY": "k2"}).settings.api_key == "k2"
    config["models"]["providers"]["fake"]["apiKey"] = {"source": "env", "provider": "default", "id": "OTHER"}
    assert catalog.provider_for(config, ModelRef("fake", "m"), {"OTHER": "k3"}).settings.api_key == "k3"


def test_model_info_defaults():
    config = {"models": {"providers": {"p": {"baseUrl": "http://127.0.0.1:1", "api": "anthropic-messages",
                                             "models": [{"id": "m", "name": "Model M", "maxTokens": 321}]}}}}
    assert catalog.model_info(config, ModelRef("p", "m")) == {
        "api": "anthropic-messages", "name": "Model M", "contextWindow": 200000, "maxTokens": 321}
    assert catalog.model_info(config, ModelRef("p", "other"))["maxTokens"] is None


# ------------------------------------------------------------------ openclaw-local


def test_local_echoes_word_by_word():
    events = run_chain({}, "hello  there\nworld")
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Echo:", " hello", "  there", "\nworld"]
    assert isinstance(events[-1], Finish) and events[-1].response_model == "openclaw-local/echo"
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.output_tokens == 4 and usage.input_tokens == 2 + 3  # system "be brief" + 3 words


def test_local_count_fail_and_limits():
    assert text_of(run_chain({}, "/count 5")) == "1 2 3 4 5"
    assert "from 1 to 10000" in text_of(run_chain({}, "/count 10001"))
    with pytest.raises(ProviderError) as err:
        run_chain({}, "/fail")
    assert err.value.kind == "overloaded"


def test_local_tool_call_then_answer():
    events = run_chain({}, '/tool get_weather {"city": "Paris"}')
    call = next(e for e in events if isinstance(e, ToolCall))
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert events[-1].stop_reason == "tool_use"
    history = ('/tool get_weather {"city": "Paris"}',
               AssistantMessage("", (ToolCallRequest(call.id, call.name, call.arguments),)),
               ToolResultMessage(call.id, "get_weather", "sunny " * 100))
    answer = text_of(run_chain({}, *history))
    assert answer == "Tool get_weather returned: " + ("sunny " * 100)[:200].rstrip()


def test_local_slow_is_cancellable():
    async def go():
        started = time.monotonic()
        agen = catalog.stream_with_fallback({}, [LOCAL], lambda ref: request_for(ref, "/slow 200 /count 50"), {})
        first = await agen.__anext__()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                async for _ in agen:
                    pass
        await agen.aclose()
        return first, time.monotonic() - started

    first, elapsed = asyncio.run(go())
    assert first == TextDelta("1")
    assert elapsed < 2


# ------------------------------------------------------------------ OpenAI Chat Completions


def test_chat_streams_text_usage_and_request_shape(fake):
    fake.push(Reply(text="Hi there friend", usage=(12, 3)))
    config = fake.config("openai-completions")
    config["models"]["providers"]["fake"]["models"][0]["maxTokens"] = 77
    events = run_chain(config, "hello", tools=[WEATHER])
    assert text_of(events) == "Hi there friend"
    assert Usage(input_tokens=12, output_tokens=3) in events
    assert events[-1] == Finish("stop", response_model="fake-model", response_id=events[-1].response_id)
    req = fake.wait_for_requests(1)[0]
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.body["stream"] is True and req.body["stream_options"] == {"include_usage": True}
    assert req.body["max_completion_tokens"] == 77 and req.body["tool_choice"] == "auto"
    assert req.body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    assert req.body["tools"][0] == {"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city", "parameters": WEATHER.parameters}}


def test_chat_assembles_tool_call_fragments(fake):
    fake.push(Reply.tools({"id": "call_a", "name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2, 3]}},
                          {"id": "call_b", "name": "noop", "arguments": {}}, text="Let me check."))
    events = run_chain(fake.config(), "weather?", tools=[WEATHER])
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [ToolCall("call_a", "get_weather", {"city": "Paris", "days": [1, 2, 3]}), ToolCall("call_b", "noop", {})]
    assert text_of(events) == "Let me check."
    assert events[-1].stop_reason == "tool_use"


def test_chat_history_with_tool_results_is_sent_in_openai_shape(fake):
    history = ("weather?", AssistantMessage("", (ToolCallRequest("call_a", "get_weather", {"city": "Paris"}),)),
               ToolResultMessage("call_a", "get_weather", "sunny"))
    run_chain(fake.config(), *history)
    msgs = fake.wait_for_requests(1)[0].body["messages"]
    assert msgs[2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert msgs[3] == {"role": "tool", "tool_call_id": "call_a", "content": "sunny"}


def test_retry_after_is_honoured_then_success(fake):
    fake.push(Reply.rate_limited("0.3"), Reply.server_error(503), Reply(text="finally"))
    started = time.monotonic()
    events = run_chain(fake.config(), "hi")
    elapsed = time.monotonic() - started
    assert text_of(events) == "finally"
    assert not any(isinstance(e, Fallback) for e in events)
    reqs = fake.wait_for_requests(3)
    assert len(reqs) == 3
    assert reqs[1].at - reqs[0].at >= 0.28  # waited Retry-After
    assert elapsed < 5


def test_fallback_before_first_event_and_primary_error_when_all_fail(fake, monkeypatch):
    monkeypatch.setattr(catalog, "RETRY_ATTEMPTS", 1)
    config = fake.config(fallbacks=("openclaw-local/echo",))
    fake.push(Reply.server_error(500, "boom"))
    events = run_chain(config, "hello")
    fb = next(e for e in events if isinstance(e, Fallback))
    assert (fb.from_model, fb.to_model, fb.reason) == (ModelRef("fake", "fake-model"), LOCAL, "overloaded")
    assert "boom" in fb.detail
    assert text_of(events) == "Echo: hello"
    # all fail: the primary's error
    fake.push(Reply(status=401, error="bad key"))
    with pytest.raises(ProviderError) as err:
        run_chain(config, "/fail")
    assert err.value.kind == "auth"


def test_long_retry_after_is_not_waited_and_falls_back(fake):
    fake.push(Reply.rate_limited("3600"))
    started = time.monotonic()
    events = run_chain(fake.config(fallbacks=("openclaw-local/echo",)), "x")
    assert time.monotonic() - started < 3
    assert any(isinstance(e, Fallback) and e.reason == "rate_limit" for e in events)


def test_failure_after_output_is_raised_not_fallen_back(fake):
    fake.push(Reply(text="partial answer here", stream_error="server died"))
    got = []

    async def go():
        try:
            async for ev in catalog.stream_with_fallback(
                fake.config(fallbacks=("openclaw-local/echo",)), catalog.resolve_chain(
                    fake.config(fallbacks=("openclaw-local/echo",)), "main"),
                lambda ref: request_for(ref, "hi"), {}):
                got.append(ev)
        finally:
            await catalog.aclose()

    with pytest.raises(ProviderError) as err:
        asyncio.run(go())
    assert "server died" in err.value.message
    assert got == [TextDelta("partial")]
    assert len(fake.requests) == 1


def test_not_found_and_bad_request_mapping(fake, monkeypatch):
    fake.push(Reply(status=404, error="no such model"))
    with pytest.raises(ProviderError) as err:
        run_chain(fake.config(), "x")
    assert err.value.kind == "not_found"
    assert err.value.message == ("The selected model was not found by the provider. Check the model id or choose "
                                 "a different model.")
    fake.push(Reply(status=400, error="messages: bad"))
    with pytest.raises(ProviderError) as err:
        run_chain(fake.config(), "x")
    assert err.value.kind == "bad_request" and "messages: bad" in err.value.message


def test_cancel_closes_the_upstream_stream(fake):
    fake.push(Reply(text="first words", hang="mid"))

    async def go():
        agen = catalog.stream_with_fallback(fake.config(), [ModelRef("fake", "fake-model")],
                                            lambda ref: request_for(ref, "x"), {})
        first = await agen.__anext__()
        await agen.aclose()
        await catalog.aclose()
        return first

    assert asyncio.run(go()) == TextDelta("first")
    assert fake.wait_disconnected(5)


def test_first_byte_timeout_and_idle_timeout(fake, monkeypatch):
    fake.push(Reply(hang="headers"))
    started = time.monotonic()
    with pytest.raises(ProviderError) as err:
        run_chain(fake.config(), "x", timeout_s=0.5)
    assert err.value.kind == "timeout" and time.monotonic() - started < 3
    config = fake.config()
    config["models"]["providers"]["fake"]["timeoutSeconds"] = 0.3
    fake.push(Reply(hang="body"))
    with pytest.raises(ProviderError) as err:
        run_chain(config, "x")
    assert err.value.kind == "timeout" and "stalled" in err.value.message


def test_connection_refused_is_network_error(monkeypatch):
    monkeypatch.setattr(catalog, "RETRY_ATTEMPTS", 2)
    monkeypatch.setattr(catalog, "RETRY_BASE_S", 0.01)
    from tests.harness import free_port

    config = {"models": {"providers": {"p": {"baseUrl": f"http://127.0.0.1:{free_port()}/v1", "apiKey": "k",
                                             "models": [{"id": "m", "name": "M"}]}}},
              "agents": {"defaults": {"model": "p/m"}}}
    with pytest.raises(ProviderError) as err:
        run_chain(config, "x")
    assert err.value.kind == "network"
