"""OpenAI Chat Completions (api "openai-completions"): `POST {baseUrl}/chat/completions`, SSE.

Request: `model, messages, stream:true, stream_options:{include_usage:true}, tools,
tool_choice:"auto", max_completion_tokens` (the last only when the model's maxTokens is known).
Stream: `data: {choices:[{delta:{content | tool_calls:[{index,id,function:{name,arguments}}]},
finish_reason}]}` chunks, a final usage chunk (`choices: []`), then `data: [DONE]`. Tool-call
argument fragments are assembled per `index` and yielded as one ToolCall each at the finish.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from .base import (
    AssistantMessage,
    Finish,
    ModelEvent,
    ModelRequest,
    ProviderError,
    TextDelta,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from .http import open_stream, parse_arguments, parse_json, sse_events
from .settings import ProviderSettings

FINISH_REASONS = {"stop": "stop", "tool_calls": "tool_use", "function_call": "tool_use", "length": "length",
                  "content_filter": "content_filter"}


def chat_messages(request: ModelRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    for m in request.messages:
        if isinstance(m, UserMessage):
            out.append({"role": "user", "content": m.text})
        elif isinstance(m, AssistantMessage):
            msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            if m.tool_calls:
                msg["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                    for c in m.tool_calls
                ]
            out.append(msg)
        elif isinstance(m, ToolResultMessage):
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
    return out


def chat_body(settings: ProviderSettings, request: ModelRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": chat_messages(request),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in request.tools
        ]
        body["tool_choice"] = "auto"
    max_tokens = request.max_tokens or settings.max_tokens
    if max_tokens:
        body["max_completion_tokens"] = max_tokens
    return body


class OpenAIChatProvider:
    api = "openai-completions"

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.id = settings.id

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        s = self.settings
        label = s.label
        headers = {**s.headers, "authorization": f"Bearer {s.api_key}", "accept": "text/event-stream"}
        deadline = asyncio.get_running_loop().time() + request.timeout_s
        calls: dict[int, dict[str, Any]] = {}
        finish: str | None = None
        usage: Usage | None = None
        model = ""
        response_id = ""
        done = False
        async with open_stream(label, f"{s.base_url}/chat/completions", headers, chat_body(s, request),
                               deadline=deadline) as resp:
            async for _event, data in sse_events(label, resp, idle_s=s.idle_s, deadline=deadline):
                if data.strip() == "[DONE]":
                    done = True
                    break
                chunk = parse_json(label, data)
                if not isinstance(chunk, dict):
                    raise ProviderError("protocol", f"{label}: a stream chunk is not an object")
                if "error" in chunk:
                    raise _stream_error(label, chunk["error"])
                model = chunk.get("model") or model
                response_id = chunk.get("id") or response_id
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    text = delta.get("content")
                    if text:
                        yield TextDelta(text)
                    for frag in delta.get("tool_calls") or ():
                        slot = calls.setdefault(int(frag.get("index", len(calls))), {"id": "", "name": "", "args": []})
                        if frag.get("id"):
                            slot["id"] = frag["id"]
                        fn = frag.get("function") or {}
                        if fn.get("name"):
                            slot["name"] += fn["name"]
                        if fn.get("arguments"):
                            slot["args"].append(fn["arguments"])
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
                if isinstance(chunk.get("usage"), dict):
                    usage = _usage(chunk["usage"])
        if finish is None and not done:
            raise ProviderError("network", f"{label}: the stream ended before the model finished")
        for index in sorted(calls):
            slot = calls[index]
            if not slot["name"]:
                raise ProviderError("protocol", f"{label}: a tool call without a function name")
            yield ToolCall(id=slot["id"] or f"call_{index}", name=slot["name"],
                           arguments=parse_arguments(label, "".join(slot["args"])))
        if usage is not None:
            yield usage
        stop = FINISH_REASONS.get(finish or "stop", finish or "stop")
        if calls and stop == "stop":
            stop = "tool_use"
        yield Finish(stop_reason=stop, response_model=model or s.model, response_id=response_id)


def _usage(u: dict[str, Any]) -> Usage:
    details = u.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(u.get("prompt_tokens") or 0),
        output_tokens=int(u.get("completion_tokens") or 0),
        cache_read=int(details.get("cached_tokens") or 0),
    )


def _stream_error(label: str, err: Any) -> ProviderError:
    message = err.get("message") if isinstance(err, dict) else str(err)
    code = str(err.get("code") or err.get("type") or "") if isinstance(err, dict) else ""
    if "rate" in code:
        return ProviderError("rate_limit", f"{label}: {message}", retryable=True)
    return ProviderError("overloaded", f"{label}: provider error in the stream: {message}", retryable=True)
