"""From config to models: the chain an agent runs on, the provider for a model, fallback and retries.

* `resolve_chain(config, agent_id, override)` -> [primary, *fallbacks] as ModelRefs.
* `provider_for(config, ref, env)` -> a Provider (raises ProviderError("config") when the call
  cannot be made: unknown provider, no key, unsupported api).
* `stream_with_fallback(config, chain, build_request, env)` -> the events of the first model of the
  chain that starts answering; `Fallback` events mark each move to the next model.
* `embed(config, agent_id, inputs, model_override)` -> EmbeddingResult (memory.search).
* `aclose()` closes the worker's one HTTP session.

Retries (per model, only before its first event): HTTP 429, 408, 5xx/529 and connection failures
are retried up to RETRY_ATTEMPTS times in all, waiting the provider's Retry-After when it sends one
(else exponential backoff from RETRY_BASE_S, ±20 % jitter, at most RETRY_MAX_BACKOFF_S). A single
wait longer than RETRY_MAX_WAIT_S, or waits adding up past RETRY_TOTAL_WAIT_S, are not taken: the
model counts as failed and the chain moves on. Any failure before the first event moves to the
next model; a failure after output has started is raised to the run (no silent restart).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from .base import (
    LOCAL_PROVIDER,
    EmbeddingResult,
    Fallback,
    ModelEvent,
    ModelRef,
    ModelRequest,
    Provider,
    ProviderError,
)
from .http import TRANSPORT
from .local import LOCAL_DEFAULT_REF, LocalProvider, check_local_model
from .settings import (
    BUILTIN_PROVIDERS,
    providers_section,
    settings_for,
    unknown_model_error,
)
from .settings import (
    model_info as _model_info,
)

RETRY_ATTEMPTS = 4  # tries per model, the first included
RETRY_BASE_S = 0.5
RETRY_MAX_BACKOFF_S = 8.0
RETRY_MAX_WAIT_S = 30.0  # one Retry-After longer than this is not waited for
RETRY_TOTAL_WAIT_S = 60.0  # total waiting per model


# ------------------------------------------------------------------ chains


def _agent_entry(config: Mapping[str, Any], agent_id: str) -> dict[str, Any]:
    agents = config.get("agents")
    if not isinstance(agents, dict):
        return {}
    entries = agents.get("entries")
    if isinstance(entries, dict) and isinstance(entries.get(agent_id), dict):
        return entries[agent_id]
    legacy = agents.get("list")
    if isinstance(legacy, list):
        for entry in legacy:
            if isinstance(entry, dict) and entry.get("id") == agent_id:
                return entry
    return {}


def _defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    agents = config.get("agents")
    defaults = agents.get("defaults") if isinstance(agents, dict) else None
    return defaults if isinstance(defaults, dict) else {}


def _split_model(value: Any) -> tuple[str | None, list[str]]:
    if isinstance(value, str) and value.strip():
        return value.strip(), []
    if isinstance(value, dict):
        primary = value.get("primary")
        fallbacks = [f.strip() for f in value.get("fallbacks") or () if isinstance(f, str) and f.strip()]
        return (primary.strip() if isinstance(primary, str) and primary.strip() else None), fallbacks
    return None, []


def _default_provider(config: Mapping[str, Any]) -> str | None:
    providers = providers_section(config)
    if len(providers) == 1:
        return next(iter(providers))
    return None


def parse_ref(config: Mapping[str, Any], text: str) -> ModelRef:
    """`provider/model`, or a bare id: an alias from agents.defaults.models, else a model of the
    one configured provider; raises ProviderError("config") when it names nothing."""
    text = text.strip()
    if not text:
        raise ProviderError("config", "empty model reference")
    aliases = _defaults(config).get("models")
    if isinstance(aliases, dict):
        for key, spec in aliases.items():
            if isinstance(spec, dict) and spec.get("alias") == text and "/" in key:
                text = key
                break
    if "/" in text:
        provider, _, model = text.partition("/")
        if not provider or not model:
            raise ProviderError("config", f"bad model reference {text!r} (expected provider/model)")
        return ModelRef(provider, model)
    providers = providers_section(config)
    for pid, pconf in providers.items():
        if isinstance(pconf, dict) and any(isinstance(m, dict) and m.get("id") == text for m in pconf.get("models") or ()):
            return ModelRef(pid, text)
    default = _default_provider(config)
    if default is not None:
        return ModelRef(default, text)
    if text in ("echo",) and not providers:
        return ModelRef(LOCAL_PROVIDER, text)
    raise ProviderError("config", f"Unknown model: {text}. Use provider/model (configured providers: "
                        f"{', '.join(sorted(providers)) or 'none'}).")


def resolve_chain(config: Mapping[str, Any], agent_id: str, override: str | None = None) -> list[ModelRef]:
    """[primary, *fallbacks] for an agent. `override` (the run's `model` param or `x-openclaw-model`)
    replaces the primary and keeps the configured fallbacks. With no provider configured at all and
    no model named, the chain is the offline openclaw-local provider."""
    entry_primary, entry_fallbacks = _split_model(_agent_entry(config, agent_id).get("model"))
    def_primary, def_fallbacks = _split_model(_defaults(config).get("model"))
    primary = entry_primary or def_primary
    fallbacks = entry_fallbacks if entry_primary or entry_fallbacks else def_fallbacks
    if override is not None and override.strip():
        primary = override.strip()
    if primary is None:
        if not providers_section(config):
            return [LOCAL_DEFAULT_REF]
        default = _default_provider(config)
        pconf = providers_section(config).get(default) if default else None
        first = next((m.get("id") for m in (pconf or {}).get("models") or () if isinstance(m, dict) and m.get("id")), None)
        if default is None or first is None:
            raise ProviderError("config", "no default model: set agents.defaults.model to provider/model "
                                f"(configured providers: {', '.join(sorted(providers_section(config)))})")
        primary = f"{default}/{first}"
    chain: list[ModelRef] = []
    for text in [primary, *fallbacks]:
        ref = parse_ref(config, text)
        if ref not in chain:
            chain.append(ref)
    return chain


def model_info(config: Mapping[str, Any], ref: ModelRef) -> dict[str, Any]:
    """{api, name, contextWindow, maxTokens} (upstream defaults: contextWindow 200000, maxTokens unknown)."""
    return _model_info(config, ref)


def configured_models(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every model the config declares, as `models.list` entries {id, name, provider, contextWindow}."""
    out: list[dict[str, Any]] = []
    for pid, pconf in providers_section(config).items():
        if not isinstance(pconf, dict):
            continue
        for m in pconf.get("models") or ():
            if isinstance(m, dict) and isinstance(m.get("id"), str):
                info = _model_info(config, ModelRef(pid, m["id"]))
                out.append({"id": m["id"], "name": info["name"], "provider": pid, "contextWindow": info["contextWindow"]})
    return out


# ------------------------------------------------------------------ providers


def provider_for(config: Mapping[str, Any], ref: ModelRef, env: Mapping[str, str] | None = None) -> Provider:
    env = os.environ if env is None else env
    if ref.provider == LOCAL_PROVIDER:
        check_local_model(ref)
        return LocalProvider(ref.model)
    if ref.provider not in providers_section(config) and ref.provider not in BUILTIN_PROVIDERS:
        raise unknown_model_error(ref)
    settings = settings_for(config, ref, env)
    if settings.api == "openai-completions":
        from .openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(settings)
    if settings.api == "openai-responses":
        from .openai_responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider(settings)
    from .anthropic_messages import AnthropicMessagesProvider

    return AnthropicMessagesProvider(settings)


def retry_wait(error: ProviderError, attempt: int, waited: float) -> float | None:
    """Seconds to wait before try `attempt + 1` of a model, or None to give up on it."""
    if not error.retryable or attempt >= RETRY_ATTEMPTS:
        return None
    if error.retry_after is not None:
        wait = error.retry_after
        if wait > RETRY_MAX_WAIT_S:
            return None
    else:
        wait = min(RETRY_MAX_BACKOFF_S, RETRY_BASE_S * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
    if waited + wait > RETRY_TOTAL_WAIT_S:
        return None
    return wait


async def stream_with_retries(provider: Provider, build: Callable[[], ModelRequest]) -> AsyncIterator[ModelEvent]:
    """One model's events; retryable failures before the first event are retried (see module doc)."""
    attempt = 0
    waited = 0.0
    while True:
        attempt += 1
        started = False
        try:
            async for event in provider.stream(build()):
                started = True
                yield event
            return
        except ProviderError as exc:
            if started:
                raise
            wait = retry_wait(exc, attempt, waited)
            if wait is None:
                raise
        waited += wait
        await asyncio.sleep(wait)


async def stream_with_fallback(
    config: Mapping[str, Any],
    chain: list[ModelRef],
    build_request: Callable[[ModelRef], ModelRequest],
    env: Mapping[str, str] = os.environ,
) -> AsyncIterator[ModelEvent]:
    """The events of the first model of `chain` that starts answering. A model that fails before its
    first event (after its retries) is skipped with a `Fallback(from, to, kind, detail)` event; when
    every model failed, the primary's error is raised (it names what the operator configured)."""
    if not chain:
        raise ProviderError("config", "no model to run (empty model chain)")
    first_error: ProviderError | None = None
    for i, ref in enumerate(chain):
        started = False
        try:
            provider = provider_for(config, ref, env)
            async for event in stream_with_retries(provider, lambda ref=ref: build_request(ref)):
                started = True
                yield event
            return
        except ProviderError as exc:
            if started:
                raise
            first_error = first_error or exc
            if i + 1 < len(chain):
                yield Fallback(from_model=ref, to_model=chain[i + 1], reason=exc.kind, detail=exc.message)
    assert first_error is not None
    raise first_error


# ------------------------------------------------------------------ embeddings


async def embed(
    config: Mapping[str, Any],
    agent_id: str,
    inputs: list[str],
    model_override: str | None = None,
    env: Mapping[str, str] | None = None,
) -> EmbeddingResult:
    from .embeddings import embed as _embed

    return await _embed(config, agent_id, inputs, model_override, os.environ if env is None else env)


async def aclose() -> None:
    """Close the worker's HTTP session (call at worker stop)."""
    await TRANSPORT.aclose()
