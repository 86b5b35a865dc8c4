"""RPC handlers of runs: agent (two-phase), agent.wait, chat.send, chat.abort, sessions.send,
sessions.abort, agents.list, models.list (spec ANC §2.2-2.4, brief §2.2-2.10)."""

from __future__ import annotations

import time
from typing import Any

from openclaw.ipc import agents_config, envelope
from openclaw.ipc.config import config_value
from openclaw.ipc.errors import ErrorCode, ErrorShape, invalid_request
from openclaw.workers.runtime import CallHandle, FinalError, two_phase

from . import events as ev
from . import params as P
from . import target
from .idempotency import Finished, fingerprint
from .manager import RunManager
from .run import Run

DEFAULT_TIMEOUT_S = 600.0
NO_LIMIT_HOLD_S = 7 * 24 * 3600.0
HOLD_MARGIN_S = 60.0
DEFAULT_WAIT_S = 30.0
CONFLICT = ("This message ID was already used for different input. Check the conversation history and use a new "
            "message ID to send again.")


class CachedFailure(FinalError):
    """Replay of a failed run's final answer: its payload and its original error object."""

    def __init__(self, payload: Any, shape: ErrorShape) -> None:
        try:
            code = ErrorCode(shape.code)
        except ValueError:
            code = ErrorCode.UNAVAILABLE
        super().__init__(payload, code, shape.message)
        self._shape = shape

    def shape(self) -> ErrorShape:
        return self._shape


class RunMethods:
    def __init__(self, worker: Any, manager: RunManager) -> None:
        self.worker = worker
        self.runs = manager

    def table(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "agent.wait": self.agent_wait,
            "chat.send": self.chat_send,
            "chat.abort": self.chat_abort,
            "sessions.send": self.sessions_send,
            "sessions.abort": self.sessions_abort,
            "agents.list": self.agents_list,
            "models.list": self.models_list,
        }

    # ------------------------------------------------------------------ helpers

    @property
    def config(self) -> dict[str, Any]:
        return self.worker.config

    def _default_timeout(self) -> float:
        value = config_value(self.config, "agents.defaults.timeoutSeconds", None)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else DEFAULT_TIMEOUT_S

    def _replay(self, run_id: str) -> tuple[Run | None, Finished | None]:
        return self.runs.get(run_id), self.runs.cache.get(run_id)

    def _new_run(self, t: target.Target, run_id: str, message: str, caller: envelope.CallerInfo, *, via_chat: bool,
                 timeout_s: float, model: str | None = None, thinking: str | None = None, extra_system: str = "",
                 http: dict[str, Any] | None = None) -> Run:
        return Run(  # the session is created (or its id read) when the run starts: no store write before `accepted`
            run_id=run_id, session_key=t.session_key, agent_id=t.agent_id, session_id=t.session_id or "",
            message=message, conn_id=caller.conn_id, client_id=caller.client_id or "cli", via_chat=via_chat,
            timeout_s=timeout_s, fingerprint=fingerprint(message, t.session_key), model_override=model,
            thinking=thinking, extra_system=extra_system, http=http,
        )

    def _hold_s(self, run: Run) -> float:
        if not run.timeout_s:
            return NO_LIMIT_HOLD_S
        ahead = self.runs.queued_ahead(run.session_key)
        return run.timeout_s * (1 + ahead) + HOLD_MARGIN_S

    # ------------------------------------------------------------------ agent

    @two_phase
    async def agent(self, params: dict[str, Any], caller: envelope.CallerInfo, handle: CallHandle) -> Any:
        http = P.http_extras(params, caller.conn_id)
        params = {k: v for k, v in params.items() if k != P.HTTP_KEY}
        P.check_keys("agent", params, P.AGENT_KEYS, ("message", "idempotencyKey"))
        message = P.string("agent", params, "message", required=True, max_len=P.MAX_MESSAGE_CHARS)
        idem = P.string("agent", params, "idempotencyKey", required=True, empty_ok=False)
        assert message is not None and idem is not None
        active, done = self._replay(idem)
        if active is not None:
            return {"runId": idem, "status": "in_flight", "sessionKey": active.session_key, "agentId": active.agent_id}
        if done is not None:
            if done.error is not None:
                raise CachedFailure(done.payload, done.error)
            return done.payload
        if self.runs.stopping:
            raise invalid_request("gateway stopping")
        t = target.resolve("agent", params, self.config, self.worker.default_agent)
        timeout = P.number("agent", params, "timeout")
        model = P.string("agent", params, "model")
        provider = P.string("agent", params, "provider")
        if model and provider and "/" not in model:
            model = f"{provider}/{model}"
        run = self._new_run(
            t, idem, message, caller, via_chat=False, timeout_s=self._default_timeout() if timeout is None else timeout,
            model=model or None, thinking=P.string("agent", params, "thinking"),
            extra_system=P.string("agent", params, "extraSystemPrompt", max_len=P.MAX_MESSAGE_CHARS) or "", http=http,
        )
        run.accepted_at = int(time.time() * 1000)
        hold = self._hold_s(run)
        self.runs.start(run)
        handle.interim(ev.accepted_payload(run), hold)
        assert run.final is not None
        payload, error = await run.final
        if error is not None:
            raise CachedFailure(payload, error)
        return payload

    async def agent_wait(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        P.check_keys("agent.wait", params, P.WAIT_KEYS, ("runId",))
        run_id = P.string("agent.wait", params, "runId", required=True, empty_ok=False)
        assert run_id is not None
        wait_ms = P.number("agent.wait", params, "timeoutMs")
        return await self.runs.wait(run_id, DEFAULT_WAIT_S if wait_ms is None else wait_ms / 1000)

    # ------------------------------------------------------------------ chat.send / sessions.send

    def _send(self, method: str, params: dict[str, Any], caller: envelope.CallerInfo, key_field: str) -> dict[str, Any]:
        if key_field not in params:
            raise invalid_request("session mutation target is unavailable",
                                  details={"code": "SESSION_MUTATION_TARGET_REQUIRED"})
        message = P.string(method, params, "message", required=True, max_len=P.MAX_MESSAGE_CHARS)
        idem = P.string(method, params, "idempotencyKey", required=True, empty_ok=False)
        assert message is not None and idem is not None
        t = target.resolve(method, params, self.config, self.worker.default_agent, key_field=key_field)
        active, done = self._replay(idem)
        seen = active.fingerprint if active is not None else (done.fingerprint if done is not None else None)
        if seen is not None and seen != fingerprint(message, t.session_key):
            raise invalid_request(CONFLICT, details={"reason": "chat-request-conflict"})
        if active is not None:
            return {"runId": idem, "status": "in_flight"}
        if done is not None:
            return {"runId": idem, "status": "ok" if done.error is None else "error"}
        if self.runs.stopping:
            raise invalid_request("gateway stopping")
        timeout_ms = P.number(method, params, "timeoutMs")
        run = self._new_run(t, idem, message, caller, via_chat=True,
                            timeout_s=self._default_timeout() if timeout_ms is None else timeout_ms / 1000,
                            thinking=P.string(method, params, "thinking"))
        self.runs.start(run)
        return {"runId": idem, "status": "started"}

    def chat_send(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        P.check_keys("chat.send", params, P.CHAT_SEND_KEYS, ())
        return self._send("chat.send", params, caller, "sessionKey")

    def sessions_send(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        P.check_keys("sessions.send", params, P.SESSIONS_SEND_KEYS, ())
        return self._send("sessions.send", params, caller, "key")

    # ------------------------------------------------------------------ aborts

    def _abort(self, method: str, params: dict[str, Any], key_field: str) -> tuple[list[str], str | None]:
        run_id = P.string(method, params, "runId")
        key: str | None = None
        if params.get(key_field) is not None:
            key = target.resolve(method, params, self.config, self.worker.default_agent, key_field=key_field).session_key
        elif run_id is None:
            raise invalid_request(f"invalid {method} params: must have required property '{key_field}'")
        aborted: list[str] = []
        for rid in list(self.runs.active):
            run = self.runs.active[rid]
            if (run_id is None or rid == run_id) and (key is None or run.session_key == key) and self.runs.abort(run):
                aborted.append(rid)
        return aborted, key

    def chat_abort(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        P.check_keys("chat.abort", params, P.CHAT_ABORT_KEYS, ("sessionKey",))
        aborted, _ = self._abort("chat.abort", params, "sessionKey")
        return {"ok": True, "aborted": bool(aborted), "runIds": aborted}

    def sessions_abort(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        P.check_keys("sessions.abort", params, P.SESSIONS_ABORT_KEYS, ())
        aborted, _ = self._abort("sessions.abort", params, "key")
        if not aborted:
            return {"ok": True, "abortedRunId": None, "status": "no-active-run"}
        return {"ok": True, "abortedRunId": aborted[0], "abortedRunIds": aborted, "status": "aborted"}

    # ------------------------------------------------------------------ catalogs

    def agents_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        default = self.worker.default_agent
        entries = config_value(self.config, "agents.entries", None)
        entries = entries if isinstance(entries, dict) else {}
        rows = []
        for agent_id in agents_config.runtime_agents(self.config):
            entry = entries.get(agent_id) if isinstance(entries.get(agent_id), dict) else {}
            row: dict[str, Any] = {"id": agent_id, "default": agent_id == default, "configured": agent_id in entries}
            if isinstance(entry.get("name"), str):
                row["name"] = entry["name"]
            try:
                chain = self.worker.catalog.resolve_chain(self.config, agent_id)
                row["model"] = chain[0].label if chain else None
            except Exception:  # noqa: BLE001 - a bad model config shows as model null here
                row["model"] = None
            rows.append(row)
        return {"defaultId": default, "mainKey": target.main_key_name(self.config), "scope": "per-sender", "agents": rows}

    def models_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        models: list[dict[str, Any]] = []
        providers = config_value(self.config, "models.providers", None)
        if isinstance(providers, dict):
            for pid, prov in providers.items():
                for m in (prov or {}).get("models") or [] if isinstance(prov, dict) else []:
                    if isinstance(m, dict) and isinstance(m.get("id"), str):
                        row = {"id": m["id"], "name": m.get("name") or m["id"], "provider": pid}
                        for k in ("contextWindow", "maxTokens", "reasoning", "input"):
                            if k in m:
                                row[k] = m[k]
                        models.append(row)
        if not models:
            models.append({"id": "echo", "name": "openclaw-local echo (offline, not a language model)",
                           "provider": "openclaw-local"})
        return {"models": models}
