"""OpenAI Responses (api "openai-responses"): `POST {baseUrl}/responses`, typed SSE events.

Request: `model, input, stream:true, store:false, tools, max_output_tokens` (the system prompt is
the first input item, role "system"). Events used: `response.output_text.delta`,
`response.output_item.added` / `response.function_call_arguments.delta` / `response.output_item.done`
(function calls), `response.completed` / `response.incomplete` (usage, status),
`response.failed` and `error`. Everything else (`response.created`, content_part, reasoning…) is skipped.
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


def responses_input(request: ModelRequest) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if request.system:
        items.append({"type": "message", "role": "system", "content": request.system})
    for m in request.messages:
        if isinstance(m, UserMessage):
            items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": m.text}]})
        elif isinstance(m, AssistantMessage):
            if m.text:
                items.append({"type": "message", "role": "assistant", "status": "completed",
                              "content": [{"type": "output_text", "text": m.text, "annotations": []}]})
            items.extend({"type": "function_call", "call_id": c.id, "name": c.name, "arguments": json.dumps(c.arguments)}
                         for c in m.tool_calls)
        elif isinstance(m, ToolResultMessage):
            items.append({"type": "function_call_output", "call_id": m.tool_call_id, "output": m.content})
    return items


def responses_body(settings: ProviderSettings, request: ModelRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"model": settings.model, "input": responses_input(request), "stream": True, "store": False}
    if request.tools:
        body["tools"] = [{"type": "function", "name": t.name, "description": t.description,
                          "parameters": t.parameters, "strict": False} for t in request.tools]
    max_tokens = request.max_tokens or settings.max_tokens
    if max_tokens:
        body["max_output_tokens"] = max_tokens
    return body


class OpenAIResponsesProvider:
    api = "openai-responses"

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.id = settings.id

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        s = self.settings
        label = s.label
        headers = {**s.headers, "authorization": f"Bearer {s.api_key}", "accept": "text/event-stream"}
        deadline = asyncio.get_running_loop().time() + request.timeout_s
        calls: dict[str, dict[str, Any]] = {}  # item id -> {call_id, name, args}
        emitted: set[str] = set()
        final: dict[str, Any] | None = None
        async with open_stream(label, f"{s.base_url}/responses", headers, responses_body(s, request),
                               deadline=deadline) as resp:
            async for event, data in sse_events(label, resp, idle_s=s.idle_s, deadline=deadline):
                msg = parse_json(label, data)
                if not isinstance(msg, dict):
                    raise ProviderError("protocol", f"{label}: an event is not an object")
                kind = msg.get("type") or event
                if kind == "response.output_text.delta":
                    if msg.get("delta"):
                        yield TextDelta(msg["delta"])
                elif kind == "response.output_item.added":
                    item = msg.get("item") or {}
                    if item.get("type") == "function_call":
                        calls[item.get("id") or item.get("call_id", "")] = {
                            "call_id": item.get("call_id") or item.get("id"), "name": item.get("name") or "",
                            "args": [item.get("arguments") or ""]}
                elif kind == "response.function_call_arguments.delta":
                    slot = calls.get(msg.get("item_id", ""))
                    if slot is not None:
                        slot["args"].append(msg.get("delta") or "")
                elif kind == "response.output_item.done":
                    item = msg.get("item") or {}
                    if item.get("type") == "function_call":
                        key = item.get("id") or item.get("call_id", "")
                        slot = calls.get(key, {"args": []})
                        args = item.get("arguments")
                        text = args if isinstance(args, str) else "".join(slot["args"])
                        emitted.add(key)
                        yield ToolCall(id=item.get("call_id") or slot.get("call_id") or key,
                                       name=item.get("name") or slot.get("name", ""),
                                       arguments=parse_arguments(label, text))
                elif kind in ("response.completed", "response.incomplete"):
                    final = msg.get("response") or {}
                    break
                elif kind == "response.failed":
                    err = (msg.get("response") or {}).get("error") or {}
                    raise _failure(label, err)
                elif kind == "error":
                    raise _failure(label, msg.get("error") if isinstance(msg.get("error"), dict) else msg)
        if final is None:
            raise ProviderError("network", f"{label}: the stream ended before the response completed")
        for key, slot in calls.items():  # a call whose output_item.done never came
            if key not in emitted:
                yield ToolCall(id=slot["call_id"] or key, name=slot["name"],
                               arguments=parse_arguments(label, "".join(slot["args"])))
        usage = final.get("usage")
        if isinstance(usage, dict):
            yield Usage(
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                cache_read=int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0),
            )
        if calls:
            stop = "tool_use"
        elif final.get("status") == "incomplete":
            reason = (final.get("incomplete_details") or {}).get("reason")
            stop = "content_filter" if reason == "content_filter" else "length"
        else:
            stop = "stop"
        yield Finish(stop_reason=stop, response_model=final.get("model") or s.model, response_id=final.get("id") or "")


def _failure(label: str, err: dict[str, Any]) -> ProviderError:
    code = str(err.get("code") or err.get("type") or "")
    message = err.get("message") or code or "unknown error"
    if "rate" in code:
        return ProviderError("rate_limit", f"{label}: {message}", retryable=True)
    if code in ("invalid_prompt", "invalid_request_error", "context_length_exceeded"):
        return ProviderError("bad_request", f"{label}: {message}")
    return ProviderError("overloaded", f"{label}: the response failed: {message}", retryable=True)
