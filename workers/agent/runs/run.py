"""One run: what was asked, where it lands, what it produced so far, and its state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from openclaw.workers.agent.providers.base import ModelRef

from .state import RunEvent, RunState, next_state


@dataclass
class Run:
    run_id: str
    session_key: str
    agent_id: str
    session_id: str
    message: str
    conn_id: str
    client_id: str
    via_chat: bool  # started by chat.send / sessions.send (status phases, isHeartbeat, lane)
    timeout_s: float  # 0 = no limit
    fingerprint: str
    model_override: str | None = None
    thinking: str | None = None
    extra_system: str = ""
    http: dict[str, Any] | None = None  # {history, system} of an HTTP run
    accepted_at: int = 0
    started_at: int = 0
    ended_at: int = 0
    state: RunState = RunState.QUEUED
    error: str | None = None
    stop_reason: str = "stop"
    final_text: str = ""
    requested_model: ModelRef | None = None
    effective_model: ModelRef | None = None
    response_model: str = ""
    response_id: str = ""
    rerouted: bool = False
    attempts: list[tuple[ModelRef, str]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0})
    last_call_usage: dict[str, Any] | None = None
    assistant_turns: int = 0
    tool_names_ok: set[str] = field(default_factory=set)
    context_tokens: int | None = None
    api: str = ""  # the requested model's wire API (recorded with the run)
    begun: bool = False  # the store has the run (begin_run done)
    cancel_event: RunEvent | None = None  # why the task was cancelled: ABORT / TIMEOUT / STOP
    task: asyncio.Task[None] | None = None
    final: asyncio.Future[tuple[dict[str, Any], Any]] | None = None  # (payload, ErrorShape | None)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def move(self, event: RunEvent) -> RunState:
        self.state = next_state(self.state, event)
        return self.state

    @property
    def active(self) -> bool:
        return self.state in (RunState.QUEUED, RunState.RUNNING)
