"""The life of one run, as a table.

    queued --start--> running --complete--> ok
      |                  |------fail------> error
      |                  |------abort-----> aborted
      |                  |------timeout---> timed_out
      |                  '------stop------> error      (the gateway is stopping)
      |--abort--> aborted   (chat.abort / sessions.abort before it started)
      '--stop---> error

Every terminal state says what the caller sees: the final res `status`, the session's stored
`status`, and the `agent.wait` answer's `status`/`error`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RunState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    ABORTED = "aborted"
    TIMED_OUT = "timed_out"


class RunEvent(str, enum.Enum):
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"
    ABORT = "abort"
    TIMEOUT = "timeout"
    STOP = "stop"


TRANSITIONS: dict[tuple[RunState, RunEvent], RunState] = {
    (RunState.QUEUED, RunEvent.START): RunState.RUNNING,
    (RunState.QUEUED, RunEvent.ABORT): RunState.ABORTED,
    (RunState.QUEUED, RunEvent.STOP): RunState.ERROR,
    (RunState.QUEUED, RunEvent.FAIL): RunState.ERROR,
    (RunState.RUNNING, RunEvent.COMPLETE): RunState.OK,
    (RunState.RUNNING, RunEvent.FAIL): RunState.ERROR,
    (RunState.RUNNING, RunEvent.ABORT): RunState.ABORTED,
    (RunState.RUNNING, RunEvent.TIMEOUT): RunState.TIMED_OUT,
    (RunState.RUNNING, RunEvent.STOP): RunState.ERROR,
}


@dataclass(frozen=True)
class Outcome:
    """What a terminal state means to each reader."""

    res_status: str  # the final res payload `status`
    store_status: str  # session_nodes.status: done | failed | killed | timeout
    wait_status: str  # agent.wait `status`
    wait_error: str | None  # agent.wait `error`


OUTCOMES: dict[RunState, Outcome] = {
    RunState.OK: Outcome("ok", "done", "ok", None),
    RunState.ERROR: Outcome("error", "failed", "error", None),  # wait_error = the run's error text
    RunState.ABORTED: Outcome("error", "killed", "error", "aborted"),
    RunState.TIMED_OUT: Outcome("error", "timeout", "error", "timeout"),
}

TERMINAL = frozenset(OUTCOMES)


class IllegalTransition(RuntimeError):
    pass


def next_state(state: RunState, event: RunEvent) -> RunState:
    """The state after `event`; a terminal state ignores later events (an abort racing the end)."""
    if state in TERMINAL:
        return state
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(f"run cannot {event.value} while {state.value}") from None
