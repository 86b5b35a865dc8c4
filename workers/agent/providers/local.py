"""`openclaw-local`: the built-in offline provider. It is NOT a language model.

It answers deterministically from the last message so every run path can be exercised with no
account and no network:

* plain text          -> `Echo: <the user's text>`, streamed word by word
* `/count N`          -> `1 2 … N` (1 ≤ N ≤ 10000), word by word
* `/tool NAME {json}` -> a tool call `NAME(args)`; after the tool result it answers
                         `Tool NAME returned: <first 200 chars of the result>`
* `/fail`             -> ProviderError("overloaded") before any output (exercises fallback)
* `/slow MS REST`     -> REST handled as above, waiting MS ms between words (abort/timeout tests)

Usage counts words (input: every message of the request; output: the words streamed).
Embeddings (`memory.search.provider: "openclaw-local"`, explicit only): hashed bag-of-words
vectors, L2-normalised, so equal texts get equal vectors and shared words raise the similarity.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator

from .base import (
    LOCAL_PROVIDER,
    AssistantMessage,
    EmbeddingResult,
    Finish,
    ModelEvent,
    ModelRef,
    ModelRequest,
    ProviderError,
    TextDelta,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)

LOCAL_MODELS = ("echo",)
DEFAULT_LOCAL_MODEL = "echo"
LOCAL_DEFAULT_REF = ModelRef(LOCAL_PROVIDER, DEFAULT_LOCAL_MODEL)
MAX_COUNT = 10_000
MAX_SLOW_MS = 60_000
TOOL_RESULT_PREVIEW = 200
EMBEDDING_DIMS = 64

_PIECE = re.compile(r"\s*\S+")  # a word with the whitespace before it: the pieces join back to the text
_SLOW = re.compile(r"^/slow\s+(\d+)\s*(.*)$", re.DOTALL)
_COUNT = re.compile(r"^/count\s+(\S+)\s*$")
_TOOL = re.compile(r"^/tool\s+(\S+)\s*(.*)$", re.DOTALL)


def _words(text: str) -> int:
    return len(text.split())


def _message_text(message: object) -> str:
    if isinstance(message, (UserMessage, AssistantMessage)):
        return message.text
    if isinstance(message, ToolResultMessage):
        return message.content
    return ""


class LocalProvider:
    """The offline provider (api "openclaw-local")."""

    api = LOCAL_PROVIDER

    def __init__(self, model: str = DEFAULT_LOCAL_MODEL) -> None:
        self.id = LOCAL_PROVIDER
        self.model = model

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        input_tokens = _words(request.system) + sum(_words(_message_text(m)) for m in request.messages)
        plan = _plan(request)
        delay_s = plan.delay_ms / 1000.0
        if plan.fail:
            raise ProviderError("overloaded", "openclaw-local: /fail asked for a failure")
        output = 0
        for i, piece in enumerate(_PIECE.findall(plan.text)):
            if i and delay_s:
                await asyncio.sleep(delay_s)
            else:
                await asyncio.sleep(0)  # a cancellation point per word, as a real stream has
            output += 1
            yield TextDelta(piece)
        if plan.tool_call is not None:
            yield plan.tool_call
        yield Usage(input_tokens=input_tokens, output_tokens=output)
        yield Finish(
            stop_reason="tool_use" if plan.tool_call is not None else "stop",
            response_model=f"{LOCAL_PROVIDER}/{self.model}",
            response_id=f"local-{len(request.messages)}",
        )


class _Plan:
    def __init__(self) -> None:
        self.text = ""
        self.tool_call: ToolCall | None = None
        self.fail = False
        self.delay_ms = 0


def _plan(request: ModelRequest) -> _Plan:
    plan = _Plan()
    last = request.messages[-1] if request.messages else None
    if isinstance(last, ToolResultMessage):
        preview = last.content[:TOOL_RESULT_PREVIEW]
        plan.text = f"Tool {last.name} returned: {preview}"
        return plan
    text = ""
    for message in reversed(request.messages):
        if isinstance(message, UserMessage):
            text = message.text
            break
    _command(text.strip(), plan, len(request.messages))
    return plan


def _command(text: str, plan: _Plan, turn: int) -> None:
    slow = _SLOW.match(text)
    if slow:
        plan.delay_ms = min(int(slow.group(1)), MAX_SLOW_MS)
        rest = slow.group(2).strip()
        text = rest or text
        if not rest:
            plan.text = f"Echo: {text}"
            return
    if text == "/fail":
        plan.fail = True
        return
    count = _COUNT.match(text)
    if count:
        try:
            n = int(count.group(1))
        except ValueError:
            n = 0
        if 1 <= n <= MAX_COUNT:
            plan.text = " ".join(str(i) for i in range(1, n + 1))
        else:
            plan.text = f"openclaw-local: /count takes a whole number from 1 to {MAX_COUNT}"
        return
    tool = _TOOL.match(text)
    if tool:
        raw = tool.group(2).strip() or "{}"
        try:
            args = json.loads(raw)
        except ValueError:
            args = None
        if not isinstance(args, dict):
            plan.text = "openclaw-local: /tool NAME takes a JSON object of arguments"
            return
        plan.tool_call = ToolCall(id=f"call_local_{turn}", name=tool.group(1), arguments=args)
        return
    plan.text = f"Echo: {text}"


def check_local_model(ref: ModelRef) -> None:
    if ref.model not in LOCAL_MODELS:
        raise ProviderError(
            "config",
            f"Unknown model: {ref.label}. openclaw-local offers: {', '.join(LOCAL_MODELS)} (it is not a language model).",
        )


def local_embeddings(inputs: list[str], dims: int = EMBEDDING_DIMS) -> EmbeddingResult:
    vectors: list[list[float]] = []
    for text in inputs:
        vec = [0.0] * dims
        for word in re.findall(r"\w+", text.lower()) or [text]:
            digest = hashlib.sha256(word.encode()).digest()
            slot = int.from_bytes(digest[:4], "little") % dims
            vec[slot] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        vectors.append([v / norm for v in vec])
    return EmbeddingResult(vectors=vectors, model=f"{LOCAL_PROVIDER}/hash-{dims}", usage_tokens=sum(map(_words, inputs)))
