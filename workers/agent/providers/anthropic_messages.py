"""Anthropic Messages (api "anthropic-messages"): `POST {baseUrl}/v1/messages`, SSE.

Headers `x-api-key` and `anthropic-version: 2023-06-01`. Body `model, messages, system, tools,
max_tokens, stream:true` (max_tokens is required: the model's maxTokens, else 8192). Roles must
alternate, so consecutive turns of one role (tool results then a user text) merge into one message.
Stream: message_start (input usage), content_block_start/delta (text_delta, input_json_delta)/stop,
message_delta (stop_reason, output usage), message_stop; ping is skipped; an `error` event fails
the call.
"""

from __future__ import annotations

import asyncio
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
from .settings import DEFAULT_ANTHROPIC_MAX_TOKENS, ProviderSettings

ANTHROPIC_VERSION = "2023-06-01"
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_use", "max_tokens": "length",
                "refusal": "content_filter", "pause_turn": "stop"}
ERROR_KINDS = {"overloaded_error": ("overloaded", True), "api_error": ("overloaded", True),
               "rate_limit_error": ("rate_limit", True), "authentication_error": ("auth", False),
               "permission_error": ("auth", False), "not_found_error": ("not_found", False),
               "invalid_request_error": ("bad_request", False), "request_too_large": ("bad_request", False)}


def anthropic_messages(request: ModelRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in request.messages:
        if isinstance(m, UserMessage):
            add("user", [{"type": "text", "text": m.text}] if m.text else [])
        elif isinstance(m, AssistantMessage):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m.text}] if m.text else []
            blocks.extend({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls)
            add("assistant", blocks)
        elif isinstance(m, ToolResultMessage):
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            if m.is_error:
                block["is_error"] = True
            add("user", [block])
    # A single plain-text block is sent as a string, as most clients do.
    for msg in out:
        if len(msg["content"]) == 1 and msg["content"][0]["type"] == "text":
            msg["content"] = msg["content"][0]["text"]
    return out


def anthropic_body(settings: ProviderSettings, request: ModelRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": anthropic_messages(request),
        "max_tokens": request.max_tokens or settings.max_tokens or DEFAULT_ANTHROPIC_MAX_TOKENS,
        "stream": True,
    }
    if request.system:
        body["system"] = request.system
    if request.tools:
        body["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters}
                         for t in request.tools]
    return body


def messages_url(base_url: str) -> str:
    return f"{base_url}/messages" if base_url.endswith("/v1") else f"{base_url}/v1/messages"


class AnthropicMessagesProvider:
    api = "anthropic-messages"

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.id = settings.id

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        s = self.settings
        label = s.label
        headers = {**s.headers, "x-api-key": s.api_key or "", "anthropic-version": ANTHROPIC_VERSION,
                   "accept": "text/event-stream"}
        deadline = asyncio.get_running_loop().time() + request.timeout_s
        blocks: dict[int, dict[str, Any]] = {}
        usage_in = cache_read = cache_write = usage_out = 0
        stop: str | None = None
        model = ""
        message_id = ""
        finished = False
        tool_calls = 0
        async with open_stream(label, messages_url(s.base_url), headers, anthropic_body(s, request),
                               deadline=deadline) as resp:
            async for event, data in sse_events(label, resp, idle_s=s.idle_s, deadline=deadline):
                msg = parse_json(label, data)
                if not isinstance(msg, dict):
                    raise ProviderError("protocol", f"{label}: an event is not an object")
                kind = msg.get("type") or event
                if kind == "content_block_delta":
                    delta = msg.get("delta") or {}
                    if delta.get("type") == "text_delta":
                        if delta.get("text"):
                            yield TextDelta(delta["text"])
                    elif delta.get("type") == "input_json_delta":
                        block = blocks.get(int(msg.get("index", -1)))
                        if block is not None:
                            block["json"].append(delta.get("partial_json") or "")
                elif kind == "content_block_start":
                    cb = msg.get("content_block") or {}
                    if cb.get("type") == "tool_use":
                        blocks[int(msg.get("index", len(blocks)))] = {"id": cb.get("id", ""), "name": cb.get("name", ""),
                                                                      "json": []}
                    elif cb.get("type") == "text" and cb.get("text"):
                        yield TextDelta(cb["text"])
                elif kind == "content_block_stop":
                    block = blocks.pop(int(msg.get("index", -1)), None)
                    if block is not None:
                        tool_calls += 1
                        yield ToolCall(id=block["id"], name=block["name"],
                                       arguments=parse_arguments(label, "".join(block["json"])))
                elif kind == "message_start":
                    message = msg.get("message") or {}
                    model = message.get("model") or ""
                    message_id = message.get("id") or ""
                    u = message.get("usage") or {}
                    usage_in = int(u.get("input_tokens") or 0)
                    cache_read = int(u.get("cache_read_input_tokens") or 0)
                    cache_write = int(u.get("cache_creation_input_tokens") or 0)
                    usage_out = int(u.get("output_tokens") or 0)
                elif kind == "message_delta":
                    stop = (msg.get("delta") or {}).get("stop_reason") or stop
                    u = msg.get("usage") or {}
                    if u.get("output_tokens") is not None:
                        usage_out = int(u["output_tokens"])
                    if u.get("input_tokens"):
                        usage_in = int(u["input_tokens"])
                elif kind == "message_stop":
                    finished = True
                    break
                elif kind == "error":
                    err = msg.get("error") or {}
                    what, retryable = ERROR_KINDS.get(str(err.get("type")), ("overloaded", True))
                    raise ProviderError(what, f"{label}: {err.get('message') or err.get('type') or 'stream error'}",
                                        retryable=retryable)
        if not finished and stop is None:
            raise ProviderError("network", f"{label}: the stream ended before the message finished")
        yield Usage(input_tokens=usage_in, output_tokens=usage_out, cache_read=cache_read, cache_write=cache_write)
        reason = STOP_REASONS.get(stop or "end_turn", stop or "stop")
        if tool_calls and reason == "stop":
            reason = "tool_use"
        yield Finish(stop_reason=reason, response_model=model or s.model, response_id=message_id)
