"""Validation of `models` (providers, model definitions) and the agents' `model` choices.

Upstream's rules (strict objects: an unknown key is an error; paths in upstream's dotted form,
`models.providers.fake.models.0.name`):
* a provider id that is not a bundled one must declare `baseUrl` and `models`;
* a model definition needs `id` and `name` (non-empty strings);
* `api` is one of MODEL_APIS; `apiKey` a string or a SecretRef `{source, provider?, id}`;
* `agents.defaults.model` / `agents.entries.<id>.model` is "provider/model" or {primary, fallbacks}.
Used by ipc/config_schema.validate (so by the supervisor, `config validate/set` and doctor).
"""

from __future__ import annotations

from typing import Any

MODEL_APIS = (
    "openai-completions", "openai-responses", "openai-chatgpt-responses", "anthropic-messages",
    "google-generative-ai", "google-vertex", "github-copilot", "bedrock-converse-stream", "ollama",
    "pi-messages", "azure-openai-responses",
)
AUTH_KINDS = ("api-key", "aws-sdk", "oauth", "token")
SECRET_SOURCES = ("env", "file", "exec", "store")
LOCAL_PROVIDER = "openclaw-local"

# Bundled provider ids: they may be configured as bare overlays (e.g. only an apiKey).
BUILTIN_PROVIDER_IDS = frozenset({
    "openai", "anthropic", "google", "google-vertex", "xai", "zai", "openrouter", "ollama", "vllm", "sglang",
    "lmstudio", "litellm", "minimax", "minimax-portal", "alibaba", "together", "nvidia", "huggingface",
    "github-copilot", "microsoft-foundry", "opencode-go", "clawrouter", "groq", "deepseek", "mistral",
    "cerebras", "fireworks", "moonshot", "perplexity", "amazon-bedrock", "azure-openai", "cohere", "venice",
    "qwen", "kimi", "byteplus", "volcengine", "qianfan", "synthetic", "chutes", "vercel-ai-gateway",
    "cloudflare-ai-gateway", "opencode", "openai-codex", "anthropic-vertex", "bedrock",
})

PROVIDER_KEYS = frozenset({
    "baseUrl", "apiKey", "auth", "api", "maxTokens", "timeoutSeconds", "region", "injectNumCtxForOpenAICompat",
    "params", "agentRuntime", "localService", "headers", "authHeader", "request", "models",
})
MODEL_KEYS = frozenset({
    "id", "name", "api", "baseUrl", "reasoning", "input", "cost", "contextWindow", "contextTokens", "maxTokens",
    "thinkingLevelMap", "params", "agentRuntime", "headers", "compat", "mediaInput", "metadataSource",
})
MODELS_KEYS = frozenset({"mode", "providers", "catalogRefresh"})
INPUT_KINDS = ("text", "image", "video", "audio")


def _err(path: str, message: str) -> dict[str, Any]:
    return {"path": path, "message": message}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__)


def _expected(path: str, want: str, value: Any) -> dict[str, Any]:
    got = "undefined" if value is _MISSING else _type_name(value)
    return _err(path, f"Invalid input: expected {want}, received {got}")


_MISSING = object()


def _secret(path: str, value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return []
    if isinstance(value, dict):
        errors = []
        if value.get("source") not in SECRET_SOURCES:
            errors.append(_err(f"{path}.source", f"invalid value (allowed: {', '.join(SECRET_SOURCES)})"))
        if not isinstance(value.get("id"), str) or not value.get("id"):
            errors.append(_expected(f"{path}.id", "string", value.get("id", _MISSING)))
        return errors
    return [_err(path, "expected a string, \"${ENV_VAR}\" or a SecretRef {source, provider, id}")]


def _positive(path: str, value: Any, *, integer: bool = False) -> list[dict[str, Any]]:
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool) and value > 0
    return [] if ok else [_err(path, f"expected a {'whole ' if integer else ''}number > 0")]


def _model(path: str, model: Any) -> list[dict[str, Any]]:
    if not isinstance(model, dict):
        return [_expected(path, "object", model)]
    errors = [_err(f"{path}.{k}", "unknown key") for k in model if k not in MODEL_KEYS]
    for key in ("id", "name"):
        value = model.get(key, _MISSING)
        if not isinstance(value, str):
            errors.append(_expected(f"{path}.{key}", "string", value))
        elif not value:
            errors.append(_err(f"{path}.{key}", "Too small: expected string to have >=1 characters"))
    if "api" in model and model["api"] not in MODEL_APIS:
        errors.append(_err(f"{path}.api", f"invalid value {model['api']!r} (allowed: {', '.join(MODEL_APIS)})"))
    if "baseUrl" in model and not isinstance(model["baseUrl"], str):
        errors.append(_expected(f"{path}.baseUrl", "string", model["baseUrl"]))
    for key in ("contextWindow", "maxTokens"):
        if key in model:
            errors.extend(_positive(f"{path}.{key}", model[key]))
    if "contextTokens" in model:
        errors.extend(_positive(f"{path}.contextTokens", model["contextTokens"], integer=True))
    if "input" in model and (not isinstance(model["input"], list) or any(i not in INPUT_KINDS for i in model["input"])):
        errors.append(_err(f"{path}.input", f"expected an array of {', '.join(INPUT_KINDS)}"))
    if "reasoning" in model and not isinstance(model["reasoning"], bool):
        errors.append(_expected(f"{path}.reasoning", "boolean", model["reasoning"]))
    return errors


def _provider(pid: str, conf: Any) -> list[dict[str, Any]]:
    path = f"models.providers.{pid}"
    if pid == LOCAL_PROVIDER:
        return [_err(path, "openclaw-local is built in (offline, not a language model) and takes no configuration")]
    if not isinstance(conf, dict):
        return [_expected(path, "object", conf)]
    errors = [_err(f"{path}.{k}", "unknown key") for k in conf if k not in PROVIDER_KEYS]
    custom = pid not in BUILTIN_PROVIDER_IDS
    if "baseUrl" in conf:
        if not isinstance(conf["baseUrl"], str) or not conf["baseUrl"]:
            errors.append(_expected(f"{path}.baseUrl", "string", conf["baseUrl"]))
    elif custom:
        errors.append(_err(f"{path}.baseUrl", "custom model providers must declare baseUrl; provider overlays without "
                                              "baseUrl are only supported for bundled providers"))
    if "models" in conf:
        if not isinstance(conf["models"], list):
            errors.append(_expected(f"{path}.models", "array", conf["models"]))
        else:
            for i, model in enumerate(conf["models"]):
                errors.extend(_model(f"{path}.models.{i}", model))
    elif custom:
        errors.append(_err(f"{path}.models", "custom model providers must declare models; provider overlays without "
                                             "models are only supported for bundled providers"))
    if "apiKey" in conf:
        errors.extend(_secret(f"{path}.apiKey", conf["apiKey"]))
    if "api" in conf and conf["api"] not in MODEL_APIS:
        errors.append(_err(f"{path}.api", f"invalid value {conf['api']!r} (allowed: {', '.join(MODEL_APIS)})"))
    if "auth" in conf and conf["auth"] not in AUTH_KINDS:
        errors.append(_err(f"{path}.auth", f"invalid value {conf['auth']!r} (allowed: {', '.join(AUTH_KINDS)})"))
    if "maxTokens" in conf:
        errors.extend(_positive(f"{path}.maxTokens", conf["maxTokens"]))
    if "timeoutSeconds" in conf:
        errors.extend(_positive(f"{path}.timeoutSeconds", conf["timeoutSeconds"], integer=True))
    headers = conf.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            errors.append(_expected(f"{path}.headers", "object", headers))
        else:
            for name, value in headers.items():
                errors.extend(_secret(f"{path}.headers.{name}", value))
    return errors


def _agent_model(path: str, value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [] if value.strip() else [_err(path, "expected \"provider/model\" (empty)")]
    if isinstance(value, dict):
        errors = [_err(f"{path}.{k}", "unknown key") for k in value if k not in ("primary", "fallbacks")]
        if "primary" in value and (not isinstance(value["primary"], str) or not value["primary"].strip()):
            errors.append(_expected(f"{path}.primary", "string", value["primary"]))
        fallbacks = value.get("fallbacks")
        if fallbacks is not None and (not isinstance(fallbacks, list) or
                                      not all(isinstance(f, str) and f.strip() for f in fallbacks)):
            errors.append(_err(f"{path}.fallbacks", "expected an array of \"provider/model\" strings"))
        return errors
    return [_err(path, "expected \"provider/model\" or {primary, fallbacks}")]


def validate_models(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors ({path, message}) of `models` and of the agents' `model` settings."""
    errors: list[dict[str, Any]] = []
    models = data.get("models")
    if models is not None:
        if not isinstance(models, dict):
            errors.append(_expected("models", "object", models))
        else:
            errors.extend(_err(f"models.{k}", "unknown key") for k in models if k not in MODELS_KEYS)
            if "mode" in models and models["mode"] not in ("merge", "replace"):
                errors.append(_err("models.mode", f"invalid value {models['mode']!r} (allowed: merge, replace)"))
            providers = models.get("providers")
            if providers is not None:
                if not isinstance(providers, dict):
                    errors.append(_expected("models.providers", "object", providers))
                else:
                    for pid, conf in providers.items():
                        errors.extend(_provider(str(pid), conf))
    agents = data.get("agents")
    if isinstance(agents, dict):
        defaults = agents.get("defaults")
        if isinstance(defaults, dict) and "model" in defaults:
            errors.extend(_agent_model("agents.defaults.model", defaults["model"]))
        entries = agents.get("entries")
        if isinstance(entries, dict):
            for aid, entry in entries.items():
                if isinstance(entry, dict) and "model" in entry:
                    errors.extend(_agent_model(f"agents.entries.{aid}.model", entry["model"]))
    return errors
