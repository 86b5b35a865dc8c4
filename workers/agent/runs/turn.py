"""The body of a run: ask the model, stream its text out, run the tools it calls, ask again.

    resolve the model chain -> begin_run in the store -> [stream one assistant message ->
    store it -> tool calls? run them (events + store), loop (at most MAX_TOOL_ITERATIONS)]

Cancellation (abort, timeout, gateway stopping) arrives as CancelledError from the provider
stream, which closes the upstream response; the caller (manager) decides what it means.
Provider failures raise ProviderError; the manager turns them into the run's error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from openclaw.workers.agent.providers import base as pb
from openclaw.workers.agent.store import messages as sm

from .emitter import RunEmitter
from .run import Run

MAX_TOOL_ITERATIONS = 8
YIELD_EVERY_S = 0.002  # a run reading buffered model output yields the loop at least this often
MAX_TOOL_OUTPUT = 64 * 1024
CUT_MARKER = "\n…[tool output truncated at 64 KiB]"


@dataclass
class TurnDeps:
    """What a run needs from the worker (injected so tests can replace any part)."""

    config: Callable[[], dict[str, Any]]
    store_for: Callable[[str], Any]  # agent id -> SessionStore
    catalog: Any  # module with resolve_chain, model_info, stream_with_fallback
    tools: Any | None  # registry with specs_for_run / execute, or None = no tools
    publish: Callable[[str, str, str, Any], None]


def cap_output(text: str) -> str:
    raw = text.encode()
    if len(raw) <= MAX_TOOL_OUTPUT:
        return text
    return raw[: MAX_TOOL_OUTPUT - len(CUT_MARKER.encode())].decode(errors="ignore") + CUT_MARKER


def _ms() -> int:
    return int(time.time() * 1000)


def _history_from_http(http: dict[str, Any]) -> list[pb.Message]:
    out: list[pb.Message] = []
    for m in http.get("history") or []:
        out.append(pb.UserMessage(m["content"]) if m["role"] == "user" else pb.AssistantMessage(m["content"]))
    return out


def _system_prompt(run: Run) -> str:
    parts = [p for p in ((run.http or {}).get("system", ""), run.extra_system) if p]
    return "\n\n".join(parts)


async def run_turn(run: Run, em: RunEmitter, deps: TurnDeps, chain: list[pb.ModelRef],
                   begin_store: Callable[[], None] = lambda: None) -> None:
    """Drive the model until it stops asking for tools. Fills run.final_text/usage/stop_reason.

    The history is read before the run's user message is stored; `begin_store` (that write and the
    `model` event) runs once the first model request has left, so the write overlaps the model's
    time to first byte instead of adding to it."""
    config = deps.config()
    store = deps.store_for(run.agent_id)
    if run.http and run.http.get("history"):
        history = _history_from_http(run.http)
    else:
        history = list(store.model_history(run.session_key))
    messages: list[pb.Message] = [*history, pb.UserMessage(run.message)]
    tools = tuple(deps.tools.specs_for_run(run.agent_id)) if deps.tools is not None else ()
    system = _system_prompt(run)
    try:
        info = deps.catalog.model_info(config, chain[0])
    except Exception:  # noqa: BLE001 - info is decoration: never fail a run for it
        info = {}
    max_tokens = info.get("maxTokens") if isinstance(info, dict) else None
    api = info.get("api", "") if isinstance(info, dict) else ""
    remaining = chain
    for iteration in range(MAX_TOOL_ITERATIONS + 1):
        if iteration:
            em.new_turn()
        text = ""
        calls: list[pb.ToolCall] = []
        turn_usage = pb.Usage()
        finish = pb.Finish("stop")

        def build(ref: pb.ModelRef, _messages: tuple[pb.Message, ...] = tuple(messages)) -> pb.ModelRequest:
            return pb.ModelRequest(ref, system, _messages, tools, max_tokens, run.timeout_s or 600.0)

        current = remaining[0]
        slice_end = time.monotonic() + YIELD_EVERY_S
        stream = deps.catalog.stream_with_fallback(config, remaining, build)
        if iteration == 0:
            stream = await _started(stream, begin_store)
        async for event in stream:
            if time.monotonic() > slice_end:  # buffered chunks need no await: let other runs and heartbeats in
                await asyncio.sleep(0)
                slice_end = time.monotonic() + YIELD_EVERY_S
            if isinstance(event, pb.TextDelta):
                text += event.text
                em.assistant(event.text)
            elif isinstance(event, pb.ToolCall):
                calls.append(event)
            elif isinstance(event, pb.Usage):
                turn_usage = event
            elif isinstance(event, pb.Finish):
                finish = event
            elif isinstance(event, pb.Fallback):
                run.attempts.append((event.from_model, "error"))
                em.lifecycle(
                    "fallback_step", fallbackStepType="fallback_step", fallbackStepFromModel=event.from_model.label,
                    fallbackStepToModel=event.to_model.label, fallbackStepFromFailureReason=event.reason,
                    fallbackStepFromFailureDetail=event.detail,
                    fallbackStepChainPosition=chain.index(event.from_model) + 1 if event.from_model in chain else None,
                )
                current = event.to_model
                run.rerouted = True
        em.flush()
        run.effective_model = current
        remaining = chain[chain.index(current):] if current in chain else [current]
        run.attempts.append((current, "success"))
        run.response_model = finish.response_model or current.model
        run.response_id = finish.response_id
        run.stop_reason = "stop" if finish.stop_reason in ("stop", "end_turn", "tool_use", "tool_calls") else finish.stop_reason
        _add_usage(run, turn_usage)
        run.assistant_turns += 1
        run.final_text = text
        entry = _assistant_entry(run, text, calls, finish, turn_usage, current, api)
        store.append_message(run.session_key, entry)
        em.session_message(entry)
        if not calls:
            return
        if iteration == MAX_TOOL_ITERATIONS:
            run.stop_reason = "max_tool_iterations"
            return
        messages.append(pb.AssistantMessage(text, tuple(pb.ToolCallRequest(c.id, c.name, c.arguments) for c in calls)))
        for call in calls:
            messages.append(await _run_tool(run, em, deps, store, call))


async def _started(stream: AsyncIterator[pb.ModelEvent], begin_store: Callable[[], None]) -> AsyncIterator[pb.ModelEvent]:
    """Send the first request, run `begin_store` while it is out, then the same stream again."""
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the request task runs up to its first real wait (the request has left)
    try:
        begin_store()
    except BaseException:
        first.cancel()
        with contextlib.suppress(BaseException):
            await first
        raise

    async def chained() -> AsyncIterator[pb.ModelEvent]:
        try:
            yield await first
        except StopAsyncIteration:
            return
        async for event in stream:
            yield event

    return chained()


def _add_usage(run: Run, u: pb.Usage) -> None:
    run.usage["input"] += u.input_tokens
    run.usage["output"] += u.output_tokens
    run.usage["cacheRead"] += u.cache_read
    run.usage["cacheWrite"] += u.cache_write
    total = u.input_tokens + u.output_tokens + u.cache_read + u.cache_write
    run.last_call_usage = {"input": u.input_tokens, "output": u.output_tokens, "cacheRead": u.cache_read,
                           "cacheWrite": u.cache_write, "cost": {"total": 0}, "total": total}


def _assistant_entry(run: Run, text: str, calls: list[pb.ToolCall], finish: pb.Finish, u: pb.Usage, ref: pb.ModelRef,
                     api: str) -> dict[str, Any]:
    return sm.assistant_message(
        text, model=ref, api=api, tool_calls=[pb.ToolCallRequest(c.id, c.name, c.arguments) for c in calls],
        usage={"input": u.input_tokens, "output": u.output_tokens, "cacheRead": u.cache_read, "cacheWrite": u.cache_write},
        stop_reason="toolUse" if calls else (finish.stop_reason or "stop"), response_id=finish.response_id, run_id=run.run_id,
    )


async def _run_tool(run: Run, em: RunEmitter, deps: TurnDeps, store: Any, call: pb.ToolCall) -> pb.ToolResultMessage:
    em.agent("tool", {"phase": "start", "tool": call.name, "toolCallId": call.id, "args": call.arguments})
    if deps.tools is None:
        text, is_error = f"Tool {call.name} is not available (no tools are enabled for this agent)", True
    else:
        try:
            result = await deps.tools.execute(call.name, call.arguments, {"run": run, "agentId": run.agent_id,
                                                                          "sessionKey": run.session_key})
            text, is_error = str(getattr(result, "text", result)), bool(getattr(result, "is_error", False))
        except Exception as exc:  # noqa: BLE001 - a tool's failure is the model's information, not the run's end
            text, is_error = f"Tool {call.name} failed: {exc}", True
    text = cap_output(text)
    if not is_error:
        run.tool_names_ok.add(call.name)
    em.agent("tool", {"phase": "end", "tool": call.name, "toolCallId": call.id,
                      "output": {"content": [{"type": "text", "text": text}]}, "isError": is_error})
    entry = sm.tool_result_message(call.id, call.name, text, is_error=is_error)
    store.append_message(run.session_key, entry)
    em.session_message(entry)
    return pb.ToolResultMessage(call.id, call.name, text, is_error)
