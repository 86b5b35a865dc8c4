"""One run's event stream: numbers its items (`payload.seq`, per run), publishes each `agent` /
`chat` event to the session's watchers plus the requesting connection, and paces chat deltas.

Chat deltas: the first goes at once, then at most one per PACING_S; text arriving in between
is merged into the next one (`deltaText` = the new suffix, `message` = the whole turn so far).
A chat event reuses the `seq` of the agent item it reflects. `flush()` sends what is pending
(before tool events, the end of the run, an abort).

Assistant deltas that arrive together (a provider's buffered chunks, read without the task
yielding) leave as one `assistant` event, emitted once the run's task yields (a turn's first
delta leaves at once): an idle gateway
sends each chunk at once, a loaded one sends fewer, larger deltas instead of falling behind.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import events as ev

PACING_S = 0.075  # LIVE_TEXT_PACING_MS


class RunEmitter:
    def __init__(self, run: Any, publish: Callable[[str, str, str, Any], None]) -> None:
        self.run = run
        self._publish = publish
        self.seq = 0
        self.turn = 0
        self._item_base = str(uuid.uuid4())
        self.text = ""  # the current assistant turn, cumulative
        self._chat_sent = ""  # how much of `text` the chat stream has shown
        self._chat_seq = 0  # seq of the newest assistant item not yet shown in chat
        self._last_chat = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._pending = ""  # assistant text received, not yet in an `assistant` event
        self._emit_scheduled = False

    # ------------------------------------------------------------------ plumbing

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _send(self, event: str, payload: dict[str, Any]) -> None:
        self._publish(self.run.session_key, self.run.conn_id, event, payload)

    def agent(self, stream: str, data: dict[str, Any], *, lifecycle: bool = False, lane: bool = False) -> int:
        seq = self._next()
        now = ev.now_ms()
        self._send("agent", ev.agent_event(self.run, seq, stream, data, now, with_session_id=lifecycle, lane=lane))
        return seq

    def lifecycle(self, phase: str, **data: Any) -> int:
        return self.agent("lifecycle", {"phase": phase, **data}, lifecycle=True, lane=phase == "model" and data.get("provider") is None)

    def chat(self, seq: int, state: str, **fields: Any) -> None:
        self._send("chat", ev.chat_event(self.run, seq, state, **fields))

    def status(self, phase: str) -> None:
        """chat.send's status phase pair: chat {state:"status"} + agent {stream:"run_status"}."""
        seq = self._next()
        self.chat(seq, "status", phase=phase)
        self._send("agent", ev.agent_event(self.run, seq, "run_status", {"phase": phase}, ev.now_ms()))

    def session_message(self, message: dict[str, Any]) -> None:
        """A transcript message to the session's `sessions.messages.subscribe` watchers."""
        self._publish(self.run.session_key, "", "session.message",
                      {"sessionKey": self.run.session_key, "agentId": self.run.agent_id, "message": message})

    # ------------------------------------------------------------------ assistant text

    def new_turn(self) -> None:
        """A new assistant message (after a tool call): `text` restarts, so its first delta == text."""
        self.flush()
        self.turn += 1
        self.text = ""
        self._chat_sent = ""

    def assistant(self, delta: str) -> None:
        if not delta:
            return
        if self.turn == 0:
            self.turn = 1
        self._pending += delta
        if not self.text:  # a turn's first text goes at once: it is the time to first token
            self._emit_pending()
            return
        if not self._emit_scheduled:
            self._emit_scheduled = True
            asyncio.get_running_loop().call_soon(self._emit_pending)

    def _emit_pending(self) -> None:
        self._emit_scheduled = False
        delta, self._pending = self._pending, ""
        if not delta:
            return
        self.text += delta
        seq = self.agent("assistant", {"text": self.text, "delta": delta, "itemId": f"{self._item_base}:{self.turn}"})
        self._chat_seq = seq
        wait = self._last_chat + PACING_S - time.monotonic()
        if wait <= 0 and self._timer is None:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(max(0.0, wait), self.flush)

    def flush(self) -> None:
        self._emit_pending()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.text == self._chat_sent:
            return
        delta = self.text.removeprefix(self._chat_sent)
        fields: dict[str, Any] = {"deltaText": delta, "message": ev.assistant_message(self.text, ev.now_ms())}
        if not self.text.startswith(self._chat_sent):
            fields["replace"] = True
        self.chat(self._chat_seq, "delta", **fields)
        self._chat_sent = self.text
        self._last_chat = time.monotonic()

    def close(self) -> None:
        self._pending = ""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
