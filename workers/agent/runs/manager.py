"""The run table of one agent worker: start a run (queued per session), end it exactly once
(ok / error / aborted / timed out / stopped), answer waiters, remember it for idempotent replay.

A run's task waits for its turn (RunQueue), then runs `turn.run_turn` under the run's timeout.
Whatever ends it, `_finish` sends the terminal events in order, writes the store, resolves the
run's `final` future (the `agent` handler's final res) and wakes `agent.wait`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from openclaw.ipc.errors import ErrorCode, GatewayError, unavailable
from openclaw.ipc.logs import get_logger
from openclaw.workers.agent.providers.base import ProviderError
from openclaw.workers.agent.store import messages as sm

from . import events as ev
from .emitter import RunEmitter
from .idempotency import IdempotencyCache
from .run import Run
from .run_queue import RunQueue
from .state import OUTCOMES, RunEvent, RunState
from .turn import TurnDeps, run_turn

log = get_logger("worker/agent/runs")
ABORT_MESSAGE = "This operation was aborted"
STOP_MESSAGE = "gateway stopping"
MAX_ACTIVE_RUNS = 1024  # running + queued, all sessions: what clients can make one worker hold
ENDED_KEEP_S = 600.0  # a finished run stays answerable by agent.wait (and in_flight checks) this long


def _ms() -> int:
    return int(time.time() * 1000)


class RunManager:
    def __init__(self, deps: TurnDeps, max_concurrent: int = 8) -> None:
        self.deps = deps
        self.queue = RunQueue(max_concurrent)
        self.cache = IdempotencyCache()
        self.active: dict[str, Run] = {}  # run id -> run not yet ended
        self.max_active = MAX_ACTIVE_RUNS
        self.stopping = False

    # ------------------------------------------------------------------ queries

    def get(self, run_id: str) -> Run | None:
        return self.active.get(run_id)

    def active_for(self, session_key: str) -> list[str]:
        return [r.run_id for r in self.active.values() if r.session_key == session_key]

    def queued_ahead(self, session_key: str) -> int:
        return self.queue.ahead_of(session_key)

    # ------------------------------------------------------------------ start / stop

    def start(self, run: Run) -> None:
        """Queue the run (raises UNAVAILABLE, nothing started, when MAX_ACTIVE_RUNS are running or queued)."""
        if len(self.active) >= self.max_active:
            raise unavailable(f"too many agent runs running or queued (max {self.max_active}); retry later",
                              retry_after_ms=1000, details={"reason": "runs-limit"})
        run.accepted_at = run.accepted_at or _ms()
        run.final = asyncio.get_running_loop().create_future()
        self.active[run.run_id] = run
        run.task = asyncio.get_running_loop().create_task(self._drive(run), name=f"run {run.run_id}")

    def abort(self, run: Run, event: RunEvent = RunEvent.ABORT) -> bool:
        """Cancel a queued or running run; its task ends it. False if it had ended already."""
        if not run.active or run.cancel_event is not None:
            return run.active
        run.cancel_event = event
        if run.task is not None:
            run.task.cancel()
        return True

    async def stop_all(self, budget_s: float = 3.0) -> None:
        """Worker stopping: every run ends with 'gateway stopping' (events + final res + store)."""
        self.stopping = True
        runs = list(self.active.values())
        for run in runs:
            self.abort(run, RunEvent.STOP)
        tasks = [r.task for r in runs if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=budget_s)

    # ------------------------------------------------------------------ the run's task

    async def _drive(self, run: Run) -> None:
        em = RunEmitter(run, self.deps.publish)
        chain: list[Any] = []
        failure: BaseException | None = None
        try:
            try:
                await self.queue.turn(run.run_id, run.session_key)
            except asyncio.CancelledError:
                self._finish(run, em, run.cancel_event or RunEvent.ABORT, None)
                return
            run.move(RunEvent.START)
            try:
                chain = self.deps.catalog.resolve_chain(self.deps.config(), run.agent_id, run.model_override)
                run.requested_model = chain[0]
                self._begin(run, em)
                async with _timeout(run.timeout_s):
                    await run_turn(run, em, self.deps, chain, begin_store=lambda: self._begin_store(run, em))
                self._finish(run, em, RunEvent.COMPLETE, None)
            except asyncio.CancelledError:
                self._finish(run, em, run.cancel_event or RunEvent.ABORT, None)
            except TimeoutError:
                self._finish(run, em, RunEvent.TIMEOUT, None)
            except ProviderError as exc:
                failure = exc
                self._finish(run, em, RunEvent.FAIL, exc.message)
            except GatewayError as exc:
                self._finish(run, em, RunEvent.FAIL, exc.message)
            except Exception as exc:  # noqa: BLE001 - a bug in a run must still end it with an answer
                failure = exc
                log.error("run failed", runId=run.run_id, error=repr(exc)[:300])
                self._finish(run, em, RunEvent.FAIL, f"agent run failed: {type(exc).__name__}")
        finally:
            em.close()
            self.queue.done(run.run_id, run.session_key)
            self.active.pop(run.run_id, None)
            if failure is not None and not isinstance(failure, ProviderError):
                log.debug("run failure detail", runId=run.run_id)

    def _begin(self, run: Run, em: RunEmitter) -> None:
        entry = self.deps.store_for(run.agent_id).entry(run.session_key)  # a read; runs of one session are serial
        if isinstance(entry, dict) and isinstance(entry.get("sessionId"), str):
            run.session_id = entry["sessionId"]
        elif not run.session_id:
            run.session_id = str(uuid.uuid4())  # the new session's id, created by begin_store
        if run.via_chat:
            em.status("preparing_workspace")
            em.status("preparing_context")
        run.started_at = _ms()
        em.lifecycle("start", startedAt=run.started_at)
        if run.via_chat:
            em.status("starting_model")
        ref = run.requested_model
        try:
            info = self.deps.catalog.model_info(self.deps.config(), ref)
        except Exception:  # noqa: BLE001 - decoration only
            info = {}
        run.context_tokens = info.get("contextWindow") if isinstance(info, dict) else None
        run.api = info.get("api", "") if isinstance(info, dict) else ""

    def _begin_store(self, run: Run, em: RunEmitter) -> None:
        """The user's message committed (while the model request is already on its way), then `model`."""
        store = self.deps.store_for(run.agent_id)
        ref = run.requested_model
        entry = store.begin_run(run.session_key, run.run_id, model=ref, user_text=run.message, client_id=run.client_id,
                                idempotency_key=run.run_id, context_tokens=run.context_tokens, api=run.api,
                                session_id=run.session_id)
        run.begun = True
        em.session_message(sm.user_message(run.message, run.run_id, timestamp=run.started_at))
        if isinstance(entry, dict) and isinstance(entry.get("sessionId"), str):
            run.session_id = entry["sessionId"]
        self._session_changed(run, "agent.run.started", "start")
        em.lifecycle("model", provider=ref.provider, model=ref.model)

    def _finish(self, run: Run, em: RunEmitter, event: RunEvent, error: str | None) -> None:
        """End the run once: terminal events in order, store, final answer, waiters, cache."""
        if run.state not in (RunState.QUEUED, RunState.RUNNING):
            return
        was_running = run.state is RunState.RUNNING
        state = run.move(event)
        run.ended_at = _ms()
        if not run.started_at:
            run.started_at = run.ended_at
        em.flush()
        err_shape = None
        if state is RunState.OK:
            em.agent("usage", {"outputTokens": run.usage["output"], "inputTokens": run.usage["input"]})
            em.lifecycle("finishing", stopReason=run.stop_reason, aborted=False, livenessState="working", endedAt=run.ended_at)
            em.lifecycle("model", provider=None, model=None)
            receipt = {**ev.terminal_receipt(run), "terminalDisposition": "visible"}
            seq = em.lifecycle(
                "end", startedAt=run.started_at, endedAt=run.ended_at, aborted=False, stopReason=run.stop_reason,
                livenessState="working", executionSettled=True, terminalReceipt=receipt,
                terminalReply={"disposition": "visible", "text": run.final_text},
            )
            em.chat(seq, "final", stopReason=run.stop_reason, message=ev.assistant_message(run.final_text, _ms()))
            payload = ev.ok_payload(run)
        else:
            if state is RunState.ABORTED:
                run.error = ABORT_MESSAGE
                seq = em.seq
                em.chat(seq, "aborted", stopReason="rpc", message=ev.assistant_message(em.text, _ms()))
                if was_running:
                    em.lifecycle("end", status="cancelled", aborted=True, stopReason="rpc", startedAt=run.started_at,
                                 endedAt=run.ended_at)
                em.lifecycle("error", error=ABORT_MESSAGE, aborted=True, stopReason="aborted", startedAt=run.started_at,
                             endedAt=run.ended_at, executionSettled=True)
                err_shape = GatewayError(ErrorCode.UNAVAILABLE, ABORT_MESSAGE, details={"reason": "aborted"}).shape()
            elif state is RunState.TIMED_OUT:
                run.error = f"Agent run timed out after {run.timeout_s:g}s"
                run.stop_reason = "timeout"
                em.lifecycle("error", error=run.error, aborted=True, stopReason="timeout", startedAt=run.started_at,
                             endedAt=run.ended_at, executionSettled=True)
                em.chat(em.seq, "error", errorMessage=run.error)
                err_shape = GatewayError(ErrorCode.AGENT_TIMEOUT, run.error, retryable=True).shape()
            else:
                stopping = event is RunEvent.STOP
                run.error = STOP_MESSAGE if stopping else (error or "agent run failed")
                run.stop_reason = "error"
                em.lifecycle("error", error=run.error, startedAt=run.started_at, endedAt=run.ended_at, executionSettled=True)
                em.chat(em.seq, "error", errorMessage=run.error)
                err_shape = (unavailable(STOP_MESSAGE, retry_after_ms=1500) if stopping
                             else GatewayError(ErrorCode.UNAVAILABLE, run.error)).shape()
            payload = ev.error_payload(run, run.error)
        self._store_finish(run, state)
        self._session_changed(run, "agent.run.ended", "end")
        wait = ev.wait_answer(run)
        self.cache.put(run.run_id, run.session_key, run.agent_id, run.fingerprint, payload, err_shape, wait)
        if run.final is not None and not run.final.done():
            run.final.set_result((payload, err_shape))
        run.ended.set()

    def _store_finish(self, run: Run, state: RunState) -> None:
        if not run.begun:
            return
        try:
            store = self.deps.store_for(run.agent_id)
            ref = run.effective_model or run.requested_model
            store.finish_run(
                run.session_key, run.run_id, status=OUTCOMES[state].store_status, usage=dict(run.usage), model=ref,
                response_model=run.response_model,
                aborted=state in (RunState.ABORTED, RunState.TIMED_OUT) or run.error == STOP_MESSAGE,  # cut off, not failed by itself
                stop_reason=run.stop_reason, error=run.error,
            )
        except Exception as exc:  # noqa: BLE001 - the answer must still go out
            log.error("store finish_run failed", runId=run.run_id, error=repr(exc)[:300])

    def _session_changed(self, run: Run, reason: str, phase: str) -> None:
        self.deps.publish("sessions", "", "sessions.changed", {
            "sessionKey": run.session_key, "agentId": run.agent_id, "reason": reason, "phase": phase, "runId": run.run_id,
            "ts": _ms(),
        })

    # ------------------------------------------------------------------ waiting

    async def wait(self, run_id: str, timeout_s: float) -> dict[str, Any]:
        """agent.wait: the run's end within timeout_s, else {status:"timeout"} (also for an unknown id)."""
        run = self.active.get(run_id)
        if run is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.ended.wait(), timeout_s)
        done = self.cache.get(run_id)
        if done is not None:
            return done.wait
        if run is None and timeout_s > 0:
            await asyncio.sleep(timeout_s)  # unknown id: upstream answers after the window
            done = self.cache.get(run_id)
            if done is not None:
                return done.wait
        return {"runId": run_id, "status": "timeout"}


@contextlib.asynccontextmanager
async def _timeout(seconds: float):  # type: ignore[no-untyped-def]
    if seconds and seconds > 0:
        async with asyncio.timeout(seconds):
            yield
    else:
        yield
