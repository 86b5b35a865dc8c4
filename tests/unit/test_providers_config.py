"""Config validation of `models.providers` and the agents' model choice (ipc/model_config.py through
ipc/config_schema.validate), with upstream's messages."""

from __future__ import annotations

from openclaw.ipc.config_schema import validate
from openclaw.ipc.model_config import BUILTIN_PROVIDER_IDS
from openclaw.workers.agent.providers.settings import BUILTIN_PROVIDERS


def errors_of(config: dict) -> dict[str, str]:
    errors, _warnings = validate(config)
    return {e["path"]: e["message"] for e in errors}


def test_a_complete_provider_config_is_valid():
    config = {
        "models": {"mode": "merge", "providers": {
            "fake": {"baseUrl": "http://127.0.0.1:9/v1", "apiKey": "${FAKE_KEY}", "api": "openai-completions",
                     "timeoutSeconds": 30, "headers": {"x-team": {"source": "env", "id": "TEAM"}},
                     "models": [{"id": "m", "name": "M", "contextWindow": 1000, "maxTokens": 100, "input": ["text"]}]},
            "anthropic": {"apiKey": {"source": "env", "provider": "default", "id": "ANTHROPIC_API_KEY"}},
        }},
        "agents": {"defaults": {"model": {"primary": "fake/m", "fallbacks": ["anthropic/claude"]}},
                   "entries": {"main": {"model": "fake/m"}}},
    }
    assert errors_of(config) == {}


def test_custom_provider_needs_base_url_and_models():
    errs = errors_of({"models": {"providers": {"fake": {"apiKey": "k"}}}})
    assert errs["models.providers.fake.baseUrl"] == (
        "custom model providers must declare baseUrl; provider overlays without baseUrl are only supported for "
        "bundled providers")
    assert errs["models.providers.fake.models"].startswith("custom model providers must declare models;")


def test_model_definition_needs_id_and_name():
    errs = errors_of({"models": {"providers": {"fake": {"baseUrl": "http://127.0.0.1:9", "models": [{"id": "m"}, {"name": ""}]}}}})
    assert errs["models.providers.fake.models.0.name"] == "Invalid input: expected string, received undefined"
    assert errs["models.providers.fake.models.1.id"] == "Invalid input: expected string, received undefined"
    assert "Too small" in errs["models.providers.fake.models.1.name"]


def test_enums_unknown_keys_and_agent_model_shapes():
    errs = errors_of({
        "models": {"providers": {"fake": {"baseUrl": "http://h", "models": [], "api": "carrier-pigeon", "apiKey": 5,
                                          "colour": "red"}}, "bogus": 1},
        "agents": {"defaults": {"model": {"primary": "a/b", "fallback": []}}, "entries": {"ops": {"model": 7}}},
    })
    assert "carrier-pigeon" in errs["models.providers.fake.api"] and "openai-completions" in errs["models.providers.fake.api"]
    assert "SecretRef" in errs["models.providers.fake.apiKey"]
    assert errs["models.providers.fake.colour"] == "unknown key"
    assert errs["models.bogus"] == "unknown key"
    assert errs["agents.defaults.model.fallback"] == "unknown key"
    assert errs["agents.entries.ops.model"] == "expected \"provider/model\" or {primary, fallbacks}"
    assert "openclaw-local" in errors_of({"models": {"providers": {"openclaw-local": {}}}})["models.providers.openclaw-local"]


def test_builtin_tables_agree():
    assert set(BUILTIN_PROVIDERS) <= BUILTIN_PROVIDER_IDS
