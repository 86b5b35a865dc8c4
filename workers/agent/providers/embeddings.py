"""Embeddings through the agent's memory-search provider (`memory.search`, per-agent override
`agents.entries.<id>.memory.search`, merged over the top-level one).

* provider "openai" (default; "auto" means openai) or any OpenAI-compatible id:
  `POST {remote.baseUrl}/embeddings` `{model, input:[…]}` with `Authorization: Bearer <remote.apiKey>`
  (key: remote.apiKey, then `models.providers.<provider>.apiKey`, then the provider's env vars).
* provider "openclaw-local" (explicit only): offline hashed bag-of-words vectors (local.py).

No memory.search section, or a remote one without a key, is ProviderError("config"). Retries as
for chat (429/5xx, Retry-After) — see catalog.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any


from .base import LOCAL_PROVIDER, EmbeddingResult, ProviderError
from .http import open_stream
from .local import EMBEDDING_DIMS, local_embeddings
from .retry import retry_wait
from .settings import BUILTIN_PROVIDERS, api_key_for, providers_section, resolve_secret

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
EMBEDDING_TIMEOUT_S = 60.0
NOT_CONFIGURED = "no embedding provider configured (set memory.search.remote.baseUrl/apiKey)"
DISALLOWED = "This agent does not allow that embedding provider on `/v1/embeddings`."


def memory_search(config: Mapping[str, Any], agent_id: str) -> dict[str, Any] | None:
    """The effective memory.search section of an agent (None when neither level sets one)."""
    memory = config.get("memory")
    base = memory.get("search") if isinstance(memory, dict) else None
    agents = config.get("agents")
    entries = agents.get("entries") if isinstance(agents, dict) else None
    entry = entries.get(agent_id) if isinstance(entries, dict) else None
    entry_memory = entry.get("memory") if isinstance(entry, dict) else None
    override = entry_memory.get("search") if isinstance(entry_memory, dict) else None
    if not isinstance(base, dict) and not isinstance(override, dict):
        return None
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


async def embed(
    config: Mapping[str, Any], agent_id: str, inputs: list[str], model_override: str | None, env: Mapping[str, str]
) -> EmbeddingResult:
    search = memory_search(config, agent_id)
    if search is None:
        raise ProviderError("config", NOT_CONFIGURED)
    provider = str(search.get("provider") or "openai")
    if provider == "auto":
        provider = "openai"
    model = str(search.get("model") or DEFAULT_EMBEDDING_MODEL)
    if model_override:
        if "/" in model_override:
            want_provider, _, want_model = model_override.partition("/")
            if want_provider != provider or not want_model:
                raise ProviderError("bad_request", DISALLOWED)
            model = want_model
        else:
            model = model_override
    if provider == LOCAL_PROVIDER:
        dims = search.get("outputDimensionality")
        return local_embeddings(inputs, int(dims) if isinstance(dims, int) and 0 < dims <= 4096 else EMBEDDING_DIMS)
    remote = search.get("remote") if isinstance(search.get("remote"), dict) else {}
    pconf = providers_section(config).get(provider)
    pconf = pconf if isinstance(pconf, dict) else {}
    base_url = str(remote.get("baseUrl") or pconf.get("baseUrl") or BUILTIN_PROVIDERS.get(provider, ("",))[0])
    if not base_url:
        raise ProviderError("config", NOT_CONFIGURED)
    key = resolve_secret(remote.get("apiKey"), env, "memory.search.remote.apiKey") or api_key_for(
        provider, pconf, base_url, env)
    if not key:
        raise ProviderError("config", NOT_CONFIGURED)
    headers = {"authorization": f"Bearer {key}"}
    for name, value in (remote.get("headers") or {}).items():
        resolved = resolve_secret(value, env, f"memory.search.remote.headers.{name}")
        if resolved is not None:
            headers[str(name)] = resolved
    attempt, waited = 0, 0.0
    while True:
        attempt += 1
        try:
            return await _call(f"{provider}/{model}", base_url.rstrip("/"), headers, model, inputs)
        except ProviderError as exc:
            wait = retry_wait(exc, attempt, waited)
            if wait is None:
                raise
        waited += wait
        await asyncio.sleep(wait)


async def _call(label: str, base_url: str, headers: dict[str, str], model: str, inputs: list[str]) -> EmbeddingResult:
    import aiohttp  # lazily: see http.py
    deadline = asyncio.get_running_loop().time() + EMBEDDING_TIMEOUT_S
    async with open_stream(label, f"{base_url}/embeddings", headers, {"model": model, "input": list(inputs)},
                           deadline=deadline) as resp:
        try:
            async with asyncio.timeout(max(0.001, deadline - asyncio.get_running_loop().time())):
                data = await resp.json(content_type=None)
        except TimeoutError:
            raise ProviderError("timeout", f"{label}: no complete embeddings response within the timeout") from None
        except ValueError:
            raise ProviderError("protocol", f"{label}: the embeddings response is not JSON") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ProviderError("network", f"{label}: the response broke ({type(exc).__name__})", retryable=True) from None
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, list) or len(rows) != len(inputs):
        raise ProviderError("protocol", f"{label}: expected {len(inputs)} embeddings in `data`")
    try:
        ordered = sorted(rows, key=lambda r: int(r.get("index", 0)))
        vectors = [[float(x) for x in r["embedding"]] for r in ordered]
    except (TypeError, ValueError, KeyError, AttributeError):
        raise ProviderError("protocol", f"{label}: malformed embedding rows") from None
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return EmbeddingResult(vectors=vectors, model=str(data.get("model") or model),
                           usage_tokens=int(usage.get("prompt_tokens") or 0))
