"""Payload builders for a run's `agent` and `chat` events and its res answers (shapes of the
reference capture gateway-call-agent-expect-final.jsonl and spec ANC §2.2-2.4).

Pure functions: no I/O, no clock except the `now` they are given.
"""

from __future__ import annotations

from typing import Any


def now_ms() -> int:
    import time

    return int(time.time() * 1000)


def agent_event(run: Any, seq: int, stream: str, data: dict[str, Any], ts: int, *, with_session_id: bool = False,
                lane: bool = False) -> dict[str, Any]:
    """`agent` payload: runId, stream, data, sessionKey, agentId, seq, ts (+ sessionId on lifecycle)."""
    out: dict[str, Any] = {"runId": run.run_id, "stream": stream, "data": data, "sessionKey": run.session_key}
    if with_session_id:
        out["sessionId"] = run.session_id
    out["agentId"] = run.agent_id
    out["seq"] = seq
    out["ts"] = ts
    if run.via_chat:
        out["isHeartbeat"] = False
        if lane:
            data["lane"] = "main"
    return out


def chat_event(run: Any, seq: int, state: str, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"runId": run.run_id, "sessionKey": run.session_key, "agentId": run.agent_id, "seq": seq,
                           "state": state}
    out.update(fields)
    return out


def assistant_message(text: str, ts: int) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}], "timestamp": ts}


def terminal_receipt(run: Any) -> dict[str, Any]:
    req = run.requested_model
    eff = run.effective_model or req
    return {
        "runId": run.run_id, "sessionId": run.session_id, "turnId": run.run_id,
        "requested": {"provider": req.provider if req else None, "model": req.model if req else None},
        "effective": {"provider": eff.provider if eff else None, "model": eff.model if eff else None,
                      "responseModel": run.response_model or (eff.model if eff else None)},
        "successfulToolNames": sorted(run.tool_names_ok), "rerouted": run.rerouted,
    }


def usage_block(run: Any) -> dict[str, Any]:
    u = run.usage
    total = u["input"] + u["output"] + u["cacheRead"] + u["cacheWrite"]
    return {"input": u["input"], "output": u["output"], "cacheRead": u["cacheRead"], "cacheWrite": u["cacheWrite"],
            "total": total, "cost": {"total": 0}}


def accepted_payload(run: Any) -> dict[str, Any]:
    return {"runId": run.run_id, "sessionKey": run.session_key, "agentId": run.agent_id, "status": "accepted",
            "acceptedAt": run.accepted_at}


def ok_payload(run: Any) -> dict[str, Any]:
    """The final res payload of a run that completed (CAP:22, trimmed of what we do not compute)."""
    eff = run.effective_model or run.requested_model
    usage = usage_block(run)
    receipt = terminal_receipt(run)
    attempts = [{"provider": a.provider, "model": a.model, "result": r, "stage": "assistant"} for a, r in run.attempts]
    return {
        "runId": run.run_id, "status": "ok", "summary": "completed",
        "result": {
            "payloads": [{"text": run.final_text, "mediaUrl": None}] if run.final_text else [],
            "meta": {
                "durationMs": max(0, run.ended_at - run.started_at),
                "agentMeta": {
                    "sessionId": run.session_id, "sessionFile": run.session_key,
                    "provider": eff.provider if eff else None, "model": eff.model if eff else None,
                    "contextTokens": run.context_tokens, "contextTokensSource": "resolved", "agentHarnessId": "openclaw",
                    "usage": usage, "lastCallUsage": run.last_call_usage or usage, "promptTokens": run.usage["input"],
                    "assistantTurns": run.assistant_turns, "costUsd": 0, "terminalReceipt": receipt,
                },
                "aborted": False, "finalPromptText": run.message,
                "finalAssistantVisibleText": run.final_text, "finalAssistantRawText": run.final_text,
                "replayInvalid": False, "livenessState": "working", "stopReason": run.stop_reason,
                "executionTrace": {
                    "winnerProvider": eff.provider if eff else None, "winnerModel": eff.model if eff else None,
                    "attempts": attempts, "fallbackUsed": run.rerouted, "runner": "embedded",
                },
                "requestShaping": {"thinking": run.thinking or "off"},
                "completion": {"stopReason": run.stop_reason, "finishReason": run.stop_reason},
            },
            "sourceReplyDeliveryState": "missing",
        },
    }


def error_payload(run: Any, message: str) -> dict[str, Any]:
    return {"runId": run.run_id, "status": "error", "summary": message}


def wait_answer(run: Any) -> dict[str, Any]:
    """agent.wait's answer for a run that ended."""
    from .state import OUTCOMES, RunState

    outcome = OUTCOMES[run.state]
    out: dict[str, Any] = {"runId": run.run_id, "status": outcome.wait_status}
    if run.started_at:
        out["startedAt"] = run.started_at
    out["endedAt"] = run.ended_at
    if run.state is RunState.OK:
        out.update(stopReason=run.stop_reason, livenessState="working", terminalReceipt=terminal_receipt(run),
                   terminalReply={"disposition": "visible", "text": run.final_text})
    else:
        out["error"] = outcome.wait_error or run.error or "error"
        out["stopReason"] = {RunState.ABORTED: "rpc", RunState.TIMED_OUT: "timeout"}.get(run.state, "error")
    return out
