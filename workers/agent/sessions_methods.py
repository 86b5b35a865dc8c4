"""`sessions.*` (list/preview/describe/patch/create/reset/delete/compact/subscribe/…) and `chat.history`.

`methods(worker)` returns the handlers; the agent worker merges them into its method table. The
worker provides `.stores` (store.stores.Stores), `.config`, `.default_agent`, `.publish`, `.subscribe`,
and optionally `.runs` (`runs.active_for(key) -> list[run_id]`). Every params object is closed:
an unknown key is `invalid <method> params: at root: unexpected property '<k>'`.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openclaw.ipc import envelope
from openclaw.ipc.atomic import write_atomic
from openclaw.ipc.config import config_value
from openclaw.ipc.errors import invalid_request

from .store import keys
from .store.history import MAX_MESSAGE_CHARS
from .store.messages import message_text

Handler = Callable[[dict[str, Any], envelope.CallerInfo], Any]
THINKING = ("off", "minimal", "low", "medium", "high", "xhigh", "adaptive", "max", "ultra")
_LIST_BOOLS = ("activeOnly", "includeGlobal", "includeUnknown", "excludeSubagents", "excludeCron", "excludeSystem",
               "configuredAgentsOnly", "includeDerivedTitles", "includeLastMessage", "ownerFirst")


# ------------------------------------------------------------------ params checking


def _closed(method: str, params: dict[str, Any], allowed: set[str], required: tuple[str, ...] = ()) -> None:
    if not isinstance(params, dict):
        raise invalid_request(f"invalid {method} params: must be object")
    for k in params:
        if k not in allowed:
            raise invalid_request(f"invalid {method} params: at root: unexpected property '{k}'")
    for k in required:
        if k not in params:
            raise invalid_request(f"invalid {method} params: must have required property '{k}'")


def _type(method: str, params: dict[str, Any], name: str, kind: str, *, minimum: int | None = None) -> None:
    if name not in params:
        return
    v = params[name]
    ok = {
        "string": isinstance(v, str), "bool": isinstance(v, bool),
        "int": isinstance(v, int) and not isinstance(v, bool) and (minimum is None or v >= minimum),
        "string|null": v is None or isinstance(v, str),
    }[kind]
    if not ok:
        want = f"integer >= {minimum}" if kind == "int" and minimum is not None else kind
        raise invalid_request(f"invalid {method} params: {name} must be {want}")


class SessionsMethods:
    def __init__(self, worker: Any) -> None:
        self.w = worker

    # -------------------------------------------------------------- helpers

    def _main(self) -> str:
        v = config_value(self.w.config, "session.mainKey", "main")
        return v if isinstance(v, str) and v else "main"

    def _agent(self, params: dict[str, Any], key: str | None = None) -> str:
        agent = params.get("agentId")
        if agent is not None and not isinstance(agent, str):
            raise invalid_request("agentId must be a string")
        if key is not None and key.startswith("agent:") and agent is None:
            agent = keys.agent_of(key.strip().lower())
        return keys.normalize_agent_id(agent or self.w.default_agent)

    def _key(self, method: str, params: dict[str, Any], name: str = "key") -> tuple[str, str]:
        raw = params.get(name)
        if not isinstance(raw, str) or not raw.strip():
            raise invalid_request(f"invalid {method} params: {name} must be a non-empty string")
        agent = self._agent(params, raw)
        key = keys.canonical_key(raw, agent, main_key=self._main())
        return keys.agent_of(key) or agent, key

    def _active(self, key: str) -> list[str] | None:
        runs = getattr(self.w, "runs", None)
        fn = getattr(runs, "active_for", None)
        return list(fn(key)) if fn else None

    def _changed(self, agent: str, key: str, reason: str) -> None:
        row = self.w.stores.get(agent).row(key, active_run_ids=self._active(key))
        self.w.publish("sessions", "", "sessions.changed", {
            "sessionKey": key, "agentId": agent, "reason": reason, "ts": int(time.time() * 1000), "session": row})

    def _resolved(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {"modelProvider": entry.get("modelOverrideProvider") or entry.get("modelProvider"),
                "model": entry.get("modelOverride") or entry.get("model"),
                "agentRuntime": {"id": "openclaw", "source": "session"}, "runtimeSelectionLocked": False}

    # -------------------------------------------------------------- read

    def list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.list"
        _closed(m, params, {"limit", "offset", "activeMinutes", "sortBy", "label", "agentId", "search", "archived",
                            "pinned", "spawnedBy", *_LIST_BOOLS})
        _type(m, params, "limit", "int", minimum=1)
        _type(m, params, "offset", "int", minimum=0)
        _type(m, params, "activeMinutes", "int", minimum=1)
        for name in ("label", "search", "spawnedBy"):
            _type(m, params, name, "string")
        for name in (*_LIST_BOOLS, "pinned"):
            _type(m, params, name, "bool")
        if params.get("sortBy", "updatedAt") not in ("updatedAt", "lastInteractionAt", "activity"):
            raise invalid_request(f"invalid {m} params: sortBy must be one of updatedAt, lastInteractionAt, activity")
        if "archived" in params and params["archived"] != "all" and not isinstance(params["archived"], bool):
            raise invalid_request(f"invalid {m} params: archived must be boolean or \"all\"")
        store = self.w.stores.get(self._agent(params))
        active = {k: ids for k in (n["session_key"] for n in store.all_nodes()) if (ids := self._active(k)) is not None}
        return store.list(params, active_runs=active or None)

    def preview(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.preview"
        _closed(m, params, {"keys", "limit", "maxChars", "agentId"}, ("keys",))
        ks = params["keys"]
        if not isinstance(ks, list) or not ks or not all(isinstance(k, str) for k in ks):
            raise invalid_request(f"invalid {m} params: keys must be a non-empty array of strings")
        _type(m, params, "limit", "int", minimum=1)
        _type(m, params, "maxChars", "int", minimum=20)
        limit, max_chars = params.get("limit", 12), params.get("maxChars", 240)
        previews = []
        for raw in ks:
            agent, key = self._key(m, {**params, "key": raw})
            store = self.w.stores.get(agent)
            if store.node(key) is None:
                previews.append({"key": raw, "status": "missing", "items": []})
                continue
            msgs = store.chat_history(key, limit=10_000)["messages"]
            items = [{"role": x["role"], "text": message_text(x)[:max_chars]} for x in msgs
                     if x.get("role") in ("user", "assistant") and message_text(x)]
            previews.append({"key": raw, "status": "ok", "items": items[-limit:]})
        return {"ts": int(time.time() * 1000), "previews": previews}

    def describe(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.describe"
        _closed(m, params, {"key", "agentId", "includeDerivedTitles", "includeLastMessage"}, ("key",))
        agent, key = self._key(m, params)
        row = self.w.stores.get(agent).row(key, include_last_message=bool(params.get("includeLastMessage")),
                                          active_run_ids=self._active(key))
        if row is None:
            raise invalid_request(f"session not found: {key}")
        return {"session": {**row, "activitySummary": {"state": "unavailable", "canEnsure": True}}}

    def chat_history(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "chat.history"
        _closed(m, params, {"sessionKey", "agentId", "cursor", "limit", "maxBytes", "offset", "pendingBefore",
                            "inputRunIds", "maxChars"}, ("sessionKey",))
        _type(m, params, "limit", "int", minimum=1)
        _type(m, params, "offset", "int", minimum=0)
        _type(m, params, "maxChars", "int", minimum=20)
        _type(m, params, "maxBytes", "int", minimum=1)
        agent, key = self._key(m, params, "sessionKey")
        res = self.w.stores.get(agent).chat_history(key, limit=params.get("limit"), offset=params.get("offset", 0),
                                                    max_chars=params.get("maxChars", MAX_MESSAGE_CHARS))
        res["sessionKey"] = params["sessionKey"]  # echoed as given
        if "maxBytes" in params:  # drop the oldest messages until the page fits
            while res["messages"] and len(json.dumps(res["messages"]).encode()) > params["maxBytes"]:
                res["messages"].pop(0)
                res["hasMore"] = True
        return res

    # -------------------------------------------------------------- write

    def patch(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.patch"
        fields = {"label", "displayName", "category", "icon", "color", "archived", "pinned", "unread", "thinkingLevel",
                  "fastMode", "verboseLevel", "reasoningLevel", "model", "statusNote"}
        _closed(m, params, {"key", "agentId", "expectedSessionId", "expectedLifecycleRevision", *fields}, ("key",))
        for name in ("label", "displayName", "category", "icon", "color", "thinkingLevel", "verboseLevel",
                     "reasoningLevel", "model", "statusNote"):
            _type(m, params, name, "string|null")
        for name in ("archived", "pinned", "unread", "fastMode"):
            _type(m, params, name, "bool")
        if params.get("thinkingLevel") not in (None, *THINKING):
            raise invalid_request(f"invalid {m} params: thinkingLevel must be one of {', '.join(THINKING)}")
        agent, key = self._key(m, params)
        store = self.w.stores.get(agent)
        current = store.entry(key)
        if current is not None:
            if params.get("expectedSessionId") not in (None, current["sessionId"]):
                raise invalid_request(f"session {key} changed: expected sessionId {params['expectedSessionId']}")
            if params.get("expectedLifecycleRevision") not in (None, current.get("lifecycleRevision")):
                raise invalid_request(f"session {key} changed: lifecycleRevision differs")
        now = int(time.time() * 1000)
        changes: dict[str, Any] = {k: params[k] for k in ("label", "displayName", "category", "icon", "color",
                                                          "thinkingLevel", "verboseLevel", "reasoningLevel",
                                                          "statusNote") if k in params}
        changes.update({k: params[k] for k in ("fastMode", "unread") if k in params})
        if "archived" in params:
            changes["archivedAt"] = now if params["archived"] else None
        if "pinned" in params:
            changes["pinnedAt"] = now if params["pinned"] else None
        if "unread" in params and not params["unread"]:
            changes["lastReadAt"] = now
        if "model" in params:
            model = params["model"]
            if model is None:
                changes.update(modelOverride=None, modelOverrideProvider=None)
            else:
                provider, sep, name = model.partition("/")
                if not sep or not provider or not name:
                    raise invalid_request(f"invalid {m} params: model must be provider/model")
                changes.update(modelOverride=name, modelOverrideProvider=provider)
        entry, _created = store.patch_entry(key, changes, client_id=caller.client_id)
        self._changed(agent, key, "patch")
        return {"ok": True, "path": str(store.path), "key": key, "entry": entry, "resolved": self._resolved(entry)}

    def create(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.create"
        _closed(m, params, {"key", "agentId", "label", "displayName", "model", "thinkingLevel", "parentSessionKey",
                            "message", "task", "idempotencyKey"})
        for name in ("key", "label", "displayName", "model", "thinkingLevel", "parentSessionKey", "message", "task",
                     "idempotencyKey"):
            _type(m, params, name, "string")
        if params.get("message") or params.get("task"):
            raise invalid_request(f"{m} with a message is not supported here: create the session, then chat.send")
        agent = self._agent(params, params.get("key"))
        key = keys.canonical_key(params.get("key") or f"dashboard:{uuid.uuid4()}", agent, main_key=self._main())
        agent = keys.agent_of(key) or agent
        parent = params.get("parentSessionKey")
        parent = keys.canonical_key(parent, agent, main_key=self._main()) if parent else None
        store = self.w.stores.get(agent)
        if store.node(key) is not None:
            raise invalid_request(f"session already exists: {key}")
        store.ensure(key, created_via="operator", client_id=caller.client_id, label=params.get("label"),
                     parent_session_key=parent)
        changes = {k: params[k] for k in ("displayName", "thinkingLevel") if k in params}
        if params.get("model"):
            provider, _, name = params["model"].partition("/")
            changes.update(modelOverride=name or provider, modelOverrideProvider=provider if name else None)
        entry, _ = store.patch_entry(key, changes, client_id=caller.client_id)
        self._changed(agent, key, "create")
        return {"ok": True, "key": key, "sessionId": entry["sessionId"], "entry": entry, "runStarted": False,
                "resolved": {"modelProvider": self._resolved(entry)["modelProvider"], "model": self._resolved(entry)["model"]}}

    def reset(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.reset"
        _closed(m, params, {"key", "agentId", "reason", "expectedSessionId"}, ("key",))
        if params.get("reason", "reset") not in ("new", "reset"):
            raise invalid_request(f"invalid {m} params: reason must be \"new\" or \"reset\"")
        agent, key = self._key(m, params)
        store = self.w.stores.get(agent)
        current = store.entry(key)
        if current and params.get("expectedSessionId") not in (None, current["sessionId"]):
            raise invalid_request(f"session {key} changed: expected sessionId {params['expectedSessionId']}")
        if self._active(key):
            raise invalid_request(f"session {key} has an active run; abort it first (sessions.abort)")
        entry = store.reset(key, reason=params.get("reason", "reset"), client_id=caller.client_id)
        self._changed(agent, key, "reset")
        return {"ok": True, "key": key, "entry": entry, "resolved": self._resolved(entry)}

    def delete(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.delete"
        _closed(m, params, {"key", "agentId", "deleteTranscript", "expectedSessionId", "emitLifecycleHooks"}, ("key",))
        _type(m, params, "deleteTranscript", "bool")
        agent, key = self._key(m, params)
        if key == keys.main_key(agent, self._main()):
            raise invalid_request(f"Cannot delete the main session ({key}).")
        if self._active(key):
            raise invalid_request(f"session {key} has an active run; abort it first (sessions.abort)")
        store = self.w.stores.get(agent)
        current = store.entry(key)
        if current and params.get("expectedSessionId") not in (None, current["sessionId"]):
            raise invalid_request(f"session {key} changed: expected sessionId {params['expectedSessionId']}")
        gone = store.delete(key)
        if gone is None:
            return {"ok": True, "key": key, "deleted": False, "archived": []}
        archived = [] if params.get("deleteTranscript") else [self._archive(agent, sid, evs) for sid, evs in gone["events"].items()]
        self.w.publish("sessions", "", "sessions.changed", {"sessionKey": key, "agentId": agent, "reason": "delete",
                                                            "ts": int(time.time() * 1000)})
        return {"ok": True, "key": key, "deleted": True, "archived": archived}

    def _archive(self, agent: str, session_id: str, events: list[dict[str, Any]]) -> str:
        """The deleted transcript as JSON lines (uncompressed: no zstd dependency) beside the store."""
        ts = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime())
        path = Path(self.w.stores.state_dir) / "agents" / agent / "sessions" / f"{session_id}.jsonl.deleted.{ts}.{secrets.token_hex(16)}"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = "".join(json.dumps({k: v for k, v in e.items() if k != "__seq"}, ensure_ascii=False) + "\n" for e in events)
        write_atomic(path, body.encode("utf-8"), 0o600)
        return str(path)

    def compact(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.compact"
        _closed(m, params, {"key", "agentId", "maxLines"}, ("key",))
        _type(m, params, "maxLines", "int", minimum=1)
        agent, key = self._key(m, params)
        if "maxLines" not in params:
            return {"ok": False, "key": key, "compacted": False,
                    "reason": "summarizing compaction needs a language model; pass maxLines to keep only the newest messages"}
        done, reason = self.w.stores.get(agent).compact(key, params["maxLines"])
        if done:
            self._changed(agent, key, "compact")
        return {"ok": True, "key": key, "compacted": done, **({"reason": reason} if reason else {})}

    # -------------------------------------------------------------- subscriptions

    def subscribe(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        _closed("sessions.subscribe", params, set())
        self.w.subscribe(caller.conn_id, "sessions", True)
        return {"subscribed": True}

    def unsubscribe(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        _closed("sessions.unsubscribe", params, set())
        self.w.subscribe(caller.conn_id, "sessions", False)
        return {"subscribed": False}

    def messages_subscribe(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.messages.subscribe"
        _closed(m, params, {"key", "agentId"}, ("key",))
        _, key = self._key(m, params)
        self.w.subscribe(caller.conn_id, key, True)
        return {"subscribed": True, "key": key}

    def messages_unsubscribe(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        m = "sessions.messages.unsubscribe"
        _closed(m, params, {"key", "agentId"}, ("key",))
        _, key = self._key(m, params)
        self.w.subscribe(caller.conn_id, key, False)
        return {"subscribed": False, "key": key}


def methods(worker: Any) -> dict[str, Handler]:
    s = SessionsMethods(worker)
    return {
        "sessions.list": s.list, "sessions.preview": s.preview, "sessions.describe": s.describe,
        "sessions.patch": s.patch, "sessions.create": s.create, "sessions.reset": s.reset,
        "sessions.delete": s.delete, "sessions.compact": s.compact,
        "sessions.subscribe": s.subscribe, "sessions.unsubscribe": s.unsubscribe,
        "sessions.messages.subscribe": s.messages_subscribe, "sessions.messages.unsubscribe": s.messages_unsubscribe,
        "chat.history": s.chat_history,
    }


__all__ = ["SessionsMethods", "methods"]
