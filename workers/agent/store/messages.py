"""Transcript message objects (upstream's pi-style shapes) and their conversion to model messages.

    user        {"role":"user","content":"hi","timestamp":ms,"idempotencyKey":"<runId>:user","__openclaw":{"senderIsOwner":true}}
    assistant   {"role":"assistant","content":[{"type":"text","text":…},{"type":"toolCall","id","name","arguments"}],
                 "api","provider","model","usage":{input,output,cacheRead,cacheWrite,totalTokens},"stopReason","timestamp",
                 "responseId"?,"errorMessage"?,"__openclaw":{"runId"}}
    toolResult  {"role":"toolResult","toolCallId","toolName","content":[{"type":"text","text"}],"isError","timestamp"}
    system      {"role":"system","content":[{"type":"text","text"}],"timestamp","__openclaw":{"kind":"reset"|"run-interrupted",…}}
"""

from __future__ import annotations

import time
from typing import Any

from ..providers.base import (
    AssistantMessage,
    Message,
    ModelRef,
    ToolCallRequest,
    ToolResultMessage,
    UserMessage,
)


def now_ms() -> int:
    return int(time.time() * 1000)


def user_message(text: str, idempotency_key: str, *, timestamp: int | None = None) -> dict[str, Any]:
    return {
        "role": "user", "content": text, "timestamp": timestamp or now_ms(),
        "idempotencyKey": f"{idempotency_key}:user", "__openclaw": {"senderIsOwner": True},
    }


def usage_block(usage: dict[str, Any] | None) -> dict[str, int]:
    """{input, output, cacheRead, cacheWrite, totalTokens} from any of the spellings callers use."""
    u = usage or {}

    def pick(*names: str) -> int:
        for n in names:
            v = u.get(n)
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                return v
        return 0

    inp = pick("input", "inputTokens", "input_tokens")
    out = pick("output", "outputTokens", "output_tokens")
    cr = pick("cacheRead", "cache_read")
    cw = pick("cacheWrite", "cache_write")
    return {"input": inp, "output": out, "cacheRead": cr, "cacheWrite": cw, "totalTokens": inp + out + cr + cw}


def assistant_message(
    text: str, *, model: ModelRef, api: str = "", tool_calls: tuple[ToolCallRequest, ...] | list[ToolCallRequest] = (),
    usage: dict[str, Any] | None = None, stop_reason: str = "stop", response_id: str = "", run_id: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text or not tool_calls else []
    content += [{"type": "toolCall", "id": c.id, "name": c.name, "arguments": c.arguments} for c in tool_calls]
    msg: dict[str, Any] = {
        "role": "assistant", "content": content, "api": api or model.provider, "provider": model.provider,
        "model": model.model, "usage": usage_block(usage), "stopReason": stop_reason, "timestamp": now_ms(),
    }
    if response_id:
        msg["responseId"] = response_id
    if error:
        msg["errorMessage"] = error
    if run_id:
        msg["__openclaw"] = {"runId": run_id}
    return msg


def tool_result_message(tool_call_id: str, name: str, text: str, *, is_error: bool = False) -> dict[str, Any]:
    return {
        "role": "toolResult", "toolCallId": tool_call_id, "toolName": name,
        "content": [{"type": "text", "text": text}], "isError": is_error, "timestamp": now_ms(),
    }


def system_note(text: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"role": "system", "content": [{"type": "text", "text": text}], "timestamp": now_ms(),
            "__openclaw": {"kind": kind, **extra}}


def message_text(message: dict[str, Any]) -> str:
    """The plain text of a message: its string content, or its text blocks joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
                       and isinstance(b.get("text"), str))
    return ""


def to_model_message(message: dict[str, Any]) -> Message | None:
    """A transcript message as model context; None for what the model never sees (system notes, custom)."""
    role = message.get("role")
    if role == "user":
        return UserMessage(message_text(message))
    if role == "assistant":
        calls = tuple(
            ToolCallRequest(str(b.get("id", "")), str(b.get("name", "")), b.get("arguments") if isinstance(b.get("arguments"), dict) else {})
            for b in message.get("content") or [] if isinstance(b, dict) and b.get("type") == "toolCall"
        )
        return AssistantMessage(message_text(message), calls)
    if role in ("toolResult", "tool"):
        return ToolResultMessage(str(message.get("toolCallId", "")), str(message.get("toolName", "")),
                                 message_text(message), bool(message.get("isError")))
    return None
