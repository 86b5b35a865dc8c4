"""What one provider call needs from config: API kind, base URL, key, headers, timeouts, model limits.

Sources, in order: the model definition (`models.providers.<id>.models[]` entry), the provider
entry, then the built-in defaults for a bundled provider id (base URL and API kind only). The API
key: config `apiKey` (a string, `"${ENV_NAME}"`, or a SecretRef `{source:"env", id}`), then the
provider's usual environment variables (the first set one wins); a custom provider whose baseUrl
is an OpenAI host falls back to OPENAI_API_KEY.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .base import LOCAL_PROVIDER, ModelRef, ProviderError
from .http import IDLE_TIMEOUT_S

DEFAULT_CONTEXT_WINDOW = 200_000  # upstream DEFAULT_CONTEXT_TOKENS
DEFAULT_ANTHROPIC_MAX_TOKENS = 8192  # Anthropic requires max_tokens; used when the model names none

SUPPORTED_APIS = frozenset({"openai-completions", "openai-responses", "anthropic-messages"})
MODEL_APIS = frozenset({
    "openai-completions", "openai-responses", "openai-chatgpt-responses", "anthropic-messages",
    "google-generative-ai", "google-vertex", "github-copilot", "bedrock-converse-stream", "ollama",
    "pi-messages", "azure-openai-responses",
})

# Bundled provider ids: (default baseUrl, default api). Only these may be configured as bare overlays.
BUILTIN_PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("https://api.openai.com/v1", "openai-responses"),
    "anthropic": ("https://api.anthropic.com", "anthropic-messages"),
    "openrouter": ("https://openrouter.ai/api/v1", "openai-completions"),
    "xai": ("https://api.x.ai/v1", "openai-completions"),
    "groq": ("https://api.groq.com/openai/v1", "openai-completions"),
    "deepseek": ("https://api.deepseek.com/v1", "openai-completions"),
    "mistral": ("https://api.mistral.ai/v1", "openai-completions"),
    "together": ("https://api.together.xyz/v1", "openai-completions"),
    "nvidia": ("https://integrate.api.nvidia.com/v1", "openai-completions"),
    "huggingface": ("https://router.huggingface.co/v1", "openai-completions"),
    "cerebras": ("https://api.cerebras.ai/v1", "openai-completions"),
    "fireworks": ("https://api.fireworks.ai/inference/v1", "openai-completions"),
    "ollama": ("http://127.0.0.1:11434/v1", "openai-completions"),
    "vllm": ("http://127.0.0.1:8000/v1", "openai-completions"),
    "sglang": ("http://127.0.0.1:30000/v1", "openai-completions"),
    "lmstudio": ("http://127.0.0.1:1234/v1", "openai-completions"),
    "litellm": ("http://127.0.0.1:4000", "openai-completions"),
    "google": ("https://generativelanguage.googleapis.com/v1beta", "google-generative-ai"),
    "google-vertex": ("", "google-vertex"),
    "zai": ("https://api.z.ai/api/paas/v4", "openai-completions"),
    "moonshot": ("https://api.moonshot.ai/v1", "openai-completions"),
    "minimax": ("https://api.minimax.io/anthropic", "anthropic-messages"),
    "minimax-portal": ("https://api.minimax.io/anthropic", "anthropic-messages"),
    "alibaba": ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "openai-completions"),
    "github-copilot": ("", "github-copilot"),
    "microsoft-foundry": ("", "azure-openai-responses"),
    "amazon-bedrock": ("", "bedrock-converse-stream"),
    "opencode-go": ("", "openai-completions"),
    "clawrouter": ("", "openai-completions"),
    "perplexity": ("https://api.perplexity.ai", "openai-completions"),
}

ENV_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_OAUTH_TOKEN", "ANTHROPIC_API_KEY"),
    "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "google-vertex": ("GOOGLE_CLOUD_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "ollama": ("OLLAMA_API_KEY",),
    "vllm": ("VLLM_API_KEY",),
    "sglang": ("SGLANG_API_KEY",),
    "lmstudio": ("LM_API_TOKEN",),
    "litellm": ("LITELLM_API_KEY",),
    "minimax": ("MINIMAX_CODE_PLAN_KEY", "MINIMAX_CODING_API_KEY", "MINIMAX_API_KEY"),
    "minimax-portal": ("MINIMAX_OAUTH_TOKEN", "MINIMAX_API_KEY"),
    "alibaba": ("MODELSTUDIO_API_KEY", "DASHSCOPE_API_KEY", "QWEN_API_KEY"),
    "together": ("TOGETHER_API_KEY",),
    "nvidia": ("NVIDIA_API_KEY",),
    "huggingface": ("HUGGINGFACE_HUB_TOKEN", "HF_TOKEN"),
    "github-copilot": ("COPILOT_GITHUB_TOKEN",),
    "microsoft-foundry": ("AZURE_OPENAI_API_KEY",),
    "opencode-go": ("OPENCODE_API_KEY", "OPENCODE_ZEN_API_KEY"),
    "clawrouter": ("CLAWROUTER_API_KEY",),
}

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class ProviderSettings:
    id: str
    api: str
    base_url: str
    api_key: str | None
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    idle_s: float = IDLE_TIMEOUT_S
    max_tokens: int | None = None
    context_window: int = DEFAULT_CONTEXT_WINDOW
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.id}/{self.model}"


def providers_section(config: Mapping[str, Any]) -> dict[str, Any]:
    models = config.get("models")
    providers = models.get("providers") if isinstance(models, dict) else None
    return providers if isinstance(providers, dict) else {}


def model_definition(provider_conf: Mapping[str, Any], model_id: str) -> dict[str, Any]:
    for entry in provider_conf.get("models") or ():
        if isinstance(entry, dict) and entry.get("id") == model_id:
            return entry
    return {}


def resolve_secret(value: Any, env: Mapping[str, str], where: str) -> str | None:
    """A config secret: a literal string, "${ENV}", or a SecretRef {source:"env"|"file", id}."""
    if value is None:
        return None
    if isinstance(value, str):
        m = _ENV_REF.match(value.strip())
        if m:
            return env.get(m.group(1)) or None
        return value or None
    if isinstance(value, dict):
        source, ref_id = value.get("source"), value.get("id")
        if source == "env" and isinstance(ref_id, str):
            return env.get(ref_id) or None
        if source == "file" and isinstance(ref_id, str) and Path(ref_id).is_absolute():
            try:
                return Path(ref_id).read_text().strip() or None
            except OSError as exc:
                raise ProviderError("config", f"{where}: cannot read the secret file {ref_id} ({exc.strerror})") from None
        raise ProviderError("config", f"{where}: SecretRef source {source!r} is not supported by this gateway (use env)")
    raise ProviderError("config", f"{where}: expected a string or a SecretRef")


def _is_openai_host(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".openai.com")


def api_key_for(provider_id: str, provider_conf: Mapping[str, Any], base_url: str, env: Mapping[str, str]) -> str | None:
    key = resolve_secret(provider_conf.get("apiKey"), env, f"models.providers.{provider_id}.apiKey")
    if key:
        return key
    names = ENV_KEYS.get(provider_id, ())
    if not names and provider_id not in BUILTIN_PROVIDERS and _is_openai_host(base_url):
        names = ("OPENAI_API_KEY",)
    for name in names:
        if env.get(name):
            return env[name]
    return None


def unknown_model_error(ref: ModelRef) -> ProviderError:
    return ProviderError(
        "config",
        f"Unknown model: {ref.label}. Run `openclaw models list --refresh --provider {ref.provider}` to inspect this "
        "provider's model choices, then retry with a model supported by your account.",
    )


def model_info(config: Mapping[str, Any], ref: ModelRef) -> dict[str, Any]:
    """{api, name, contextWindow, maxTokens} of a model, from config with upstream defaults."""
    if ref.provider == LOCAL_PROVIDER:
        return {"api": LOCAL_PROVIDER, "name": f"openclaw-local {ref.model} (offline, not a language model)",
                "contextWindow": DEFAULT_CONTEXT_WINDOW, "maxTokens": None}
    pconf = providers_section(config).get(ref.provider)
    pconf = pconf if isinstance(pconf, dict) else {}
    mdef = model_definition(pconf, ref.model)
    builtin = BUILTIN_PROVIDERS.get(ref.provider, ("", "openai-completions"))
    max_tokens = mdef.get("maxTokens", pconf.get("maxTokens"))
    return {
        "api": mdef.get("api") or pconf.get("api") or builtin[1],
        "name": mdef.get("name") or ref.model,
        "contextWindow": int(mdef.get("contextWindow") or mdef.get("contextTokens") or DEFAULT_CONTEXT_WINDOW),
        "maxTokens": int(max_tokens) if isinstance(max_tokens, (int, float)) and max_tokens > 0 else None,
    }


def settings_for(config: Mapping[str, Any], ref: ModelRef, env: Mapping[str, str]) -> ProviderSettings:
    """Everything a call to `ref` needs; ProviderError("config") when it cannot be made (nothing is sent)."""
    providers = providers_section(config)
    pconf = providers.get(ref.provider)
    if pconf is None and ref.provider not in BUILTIN_PROVIDERS:
        raise unknown_model_error(ref)
    pconf = pconf if isinstance(pconf, dict) else {}
    mdef = model_definition(pconf, ref.model)
    info = model_info(config, ref)
    api = info["api"]
    if api not in SUPPORTED_APIS:
        raise ProviderError("config", f"{ref.label}: api {api!r} is not supported by this gateway "
                            f"(supported: {', '.join(sorted(SUPPORTED_APIS))})")
    base_url = str(mdef.get("baseUrl") or pconf.get("baseUrl") or BUILTIN_PROVIDERS.get(ref.provider, ("",))[0])
    if not base_url:
        raise ProviderError("config", f"models.providers.{ref.provider}.baseUrl is not set")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise ProviderError("config", f"models.providers.{ref.provider}.baseUrl must be an http(s) URL: {base_url!r}")
    key = api_key_for(ref.provider, pconf, base_url, env)
    if not key:
        raise ProviderError("config", f"No route-compatible authentication source is configured for {ref.provider}.")
    headers: dict[str, str] = {}
    for where, hdrs in (("", pconf.get("headers")), (".models", mdef.get("headers"))):
        if isinstance(hdrs, dict):
            for name, value in hdrs.items():
                resolved = resolve_secret(value, env, f"models.providers.{ref.provider}{where}.headers.{name}")
                if resolved is not None:
                    headers[str(name)] = resolved
    idle = pconf.get("timeoutSeconds")
    return ProviderSettings(
        id=ref.provider,
        api=api,
        base_url=base_url.rstrip("/"),
        api_key=key,
        model=ref.model,
        headers=headers,
        idle_s=float(idle) if isinstance(idle, (int, float)) and idle > 0 else IDLE_TIMEOUT_S,
        max_tokens=info["maxTokens"],
        context_window=info["contextWindow"],
        name=info["name"],
    )
