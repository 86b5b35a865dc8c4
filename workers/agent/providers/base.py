"""The provider interface: what an agent run asks a model and the events it gets back.

A run builds a `ModelRequest` (provider-neutral messages and tools) and iterates
`provider.stream(request)`: `TextDelta`s as text arrives, one `ToolCall` per complete tool call
(argument deltas already assembled), `Usage`, then exactly one `Finish`. Failures raise
`ProviderError` with a `kind` the run maps to an error code and a fallback decision.
Cancelling the task that iterates (or `aclose()` on the iterator) closes the upstream HTTP
response: that is how `chat.abort`, a run timeout and a disconnected HTTP client stop a model.

Implementations: `openai_chat.py` (api "openai-completions"), `openai_responses.py`
("openai-responses"), `anthropic_messages.py` ("anthropic-messages"), `local.py` (the offline
`openclaw-local` provider). `catalog.py` turns config into `ModelRef` chains and providers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

LOCAL_PROVIDER = "openclaw-local"  # the built-in offline provider: not a language model


@dataclass(frozen=True)
class ModelRef:
    provider: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call the model made (in an assistant message of the history)."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class UserMessage:
    text: str
    role: Literal["user"] = "user"


@dataclass(frozen=True)
class AssistantMessage:
    text: str
    tool_calls: tuple[ToolCallRequest, ...] = ()
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True)
class ToolResultMessage:
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    role: Literal["tool"] = "tool"


Message = UserMessage | AssistantMessage | ToolResultMessage


@dataclass(frozen=True)
class ModelRequest:
    model: ModelRef
    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int | None = None
    timeout_s: float = 600.0  # the whole request, first byte to last


# ------------------------------------------------------------------ what a stream yields


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0


@dataclass(frozen=True)
class Finish:
    stop_reason: str  # "stop" | "tool_use" | "length" | "content_filter" | ...
    response_model: str = ""  # the model id the provider says answered
    response_id: str = ""


@dataclass(frozen=True)
class Fallback:
    """Yielded by catalog.stream_with_fallback when it moves to the next model of the chain."""

    from_model: ModelRef
    to_model: ModelRef
    reason: str  # ProviderError.kind
    detail: str


ModelEvent = TextDelta | ToolCall | Usage | Finish | Fallback

ErrorKind = Literal[
    "config",  # no such provider / no key / bad baseUrl: nothing was sent
    "auth",  # 401/403
    "not_found",  # 404 model
    "rate_limit",  # 429 after retries
    "overloaded",  # 5xx/529 after retries
    "bad_request",  # 400: the request itself is wrong (no fallback helps... but try the next model)
    "timeout",  # no first byte / stalled stream within the budget
    "network",  # connection refused/reset
    "protocol",  # the provider sent something we cannot parse
]


class ProviderError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the provider asked us to wait (Retry-After), if it said


class Provider(Protocol):
    id: str  # the config id ("fake", "openai", "openclaw-local")
    api: str  # "openai-completions" | "openai-responses" | "anthropic-messages" | "openclaw-local"

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]: ...


@dataclass
class EmbeddingResult:
    vectors: list[list[float]]
    model: str
    usage_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
