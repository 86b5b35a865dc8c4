"""The official `openai` Python SDK (PyPI, unchanged) against our gateway: models.list,
chat.completions.create with and without stream=True, responses.create (both), embeddings.create.
The agent's model is the fake OpenAI-compatible provider on 127.0.0.1 (tests/fakes), so the whole
path runs: SDK -> gateway HTTP -> agent worker -> provider wire format -> back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..fakes.provider_servers import FakeProviderServer, Reply
from ..harness import TOKEN, Gateway, Home, running_gateway

openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, FakeProviderServer]]:
    with FakeProviderServer() as fake:
        home = Home(tmp_path_factory.mktemp("openai-sdk"))
        cfg: dict[str, Any] = home.default_config(
            http={"endpoints": {"chatCompletions": {"enabled": True}, "responses": {"enabled": True}}})
        cfg.update(fake.config("openai-completions"))
        cfg.update(fake.embedding_config())
        home.write_config(cfg)
        with running_gateway(home) as gw:
            yield gw, fake


@pytest.fixture
def client(env: tuple[Gateway, FakeProviderServer]) -> Any:
    gw, fake = env
    fake.clear()
    return openai.OpenAI(base_url=f"http://127.0.0.1:{gw.port}/v1", api_key=TOKEN, max_retries=0, timeout=30)


def test_models_list(client: Any) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["openclaw", "openclaw/default", "openclaw/main"]
    assert client.models.retrieve("openclaw/main").id == "openclaw/main"


def test_chat_completion(client: Any, env: tuple[Gateway, FakeProviderServer]) -> None:
    env[1].push(Reply(text="Hello from the fake provider.", usage=(7, 5)))
    done = client.chat.completions.create(model="openclaw", messages=[{"role": "user", "content": "hi"}])
    assert done.choices[0].message.content == "Hello from the fake provider."
    assert done.choices[0].finish_reason == "stop"
    assert done.model == "openclaw" and done.system_fingerprint == "fake/fake-model"
    assert done.usage.prompt_tokens == 7 and done.usage.completion_tokens == 5
    sent = env[1].wait_for_requests(1)[0]
    assert sent.body["model"] == "fake-model" and sent.body["stream"] is True


def test_chat_completion_stream(client: Any, env: tuple[Gateway, FakeProviderServer]) -> None:
    env[1].push(Reply(text="one two three four"))
    stream = client.chat.completions.create(model="openclaw/default", messages=[{"role": "user", "content": "count"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_responses(client: Any, env: tuple[Gateway, FakeProviderServer]) -> None:
    env[1].push(Reply(text="A response."))
    r = client.responses.create(model="openclaw", input="hello")
    assert r.output_text == "A response." and r.status == "completed"
    env[1].push(Reply(text="Streamed response here."))
    events = list(client.responses.create(model="openclaw", input="hello", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Streamed response here."
    assert events[-1].response.output_text == "Streamed response here."


def test_embeddings(client: Any, env: tuple[Gateway, FakeProviderServer]) -> None:
    r = client.embeddings.create(model="openclaw", input=["hello", "world"])
    assert [d.index for d in r.data] == [0, 1]
    assert len(r.data[0].embedding) > 0 and r.data[0].embedding != r.data[1].embedding
    sent = next(q for q in env[1].wait_for_requests(1) if q.path.endswith("/embeddings"))
    assert sent.body == {"model": "fake-embed", "input": ["hello", "world"]}
    # the SDK asks base64 (float32) unless told otherwise; "float" gets JSON numbers: the same vector
    floats = client.embeddings.create(model="openclaw", input="hello", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(r.data[0].embedding, rel=1e-6, abs=1e-7)


def test_errors_are_sdk_exceptions(client: Any) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    bad = openai.OpenAI(base_url=client.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
