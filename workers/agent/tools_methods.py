"""The tools.* RPCs and the front-end's HTTP questions the agent worker answers.

    methods(worker) -> {"tools.catalog", "tools.effective", "tools.invoke"}
    topics(worker)  -> {"http.tools.invoke", "http.embeddings"}   (router.ask topics)

`methods(worker)` also registers `topics(worker)` in `worker.topics` and creates
`worker.tools` (a ToolRegistry) when the worker has none, so one call wires all of it.
"""

from __future__ import annotations

from typing import Any

from openclaw.ipc import envelope
from openclaw.ipc.errors import ErrorCode, GatewayError, invalid_request

from .tools.builtin import ToolArgError, ToolContext
from .tools.registry import ToolDenied, ToolFailed, ToolRegistry
from .tools.builtin import agent_ids
from .tools.catalog import GROUP_LABELS, GROUP_TOOLS, PROFILES, TOOLS, default_profiles

MAX_EMBED_INPUTS = 128


def _registry(worker: Any) -> ToolRegistry:
    reg = getattr(worker, "tools", None)
    if not isinstance(reg, ToolRegistry):
        reg = ToolRegistry(worker)
        worker.tools = reg
    return reg


def _agent(worker: Any, params: dict[str, Any], method: str) -> str:
    agent = params.get("agentId")
    if agent is None:
        return worker.default_agent
    if not isinstance(agent, str) or agent not in agent_ids(worker):
        raise invalid_request(f"invalid {method} params: unknown agent id {agent!r}".replace("'", '"'))
    return agent


def _closed(params: dict[str, Any], allowed: set[str], method: str) -> None:
    for key in params:
        if key not in allowed:
            raise invalid_request(f"invalid {method} params: at root: unexpected property '{key}'")


def methods(worker: Any) -> dict[str, Any]:
    reg = _registry(worker)
    worker.topics.update(topics(worker))

    def catalog(params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        _closed(params, {"agentId", "includePlugins"}, "tools.catalog")
        groups = [{
            "id": gid, "label": GROUP_LABELS[gid], "source": "core",
            "tools": [{"id": t, "label": TOOLS[t].label, "description": TOOLS[t].description, "source": "core",
                       "defaultProfiles": default_profiles(TOOLS[t])} for t in tools],
        } for gid, tools in GROUP_TOOLS.items()]
        return {"agentId": _agent(worker, params, "tools.catalog"), "profiles": [{"id": p} for p in PROFILES], "groups": groups}

    def effective(params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        _closed(params, {"agentId", "sessionKey"}, "tools.effective")
        agent = _agent(worker, params, "tools.effective")
        tools = [{"id": t, "label": TOOLS[t].label, "description": TOOLS[t].description,
                  "rawDescription": TOOLS[t].description, "source": "core"} for t in reg.effective(agent)]
        return {"agentId": agent, "profile": "full", "groups": [{"id": "core", "label": "Built-in tools", "source": "core", "tools": tools}]}

    async def invoke(params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        _closed(params, {"tool", "name", "action", "args", "sessionKey", "agentId", "dryRun"}, "tools.invoke")
        status, body = await invoke_body(worker, params, "rpc")
        if status == 200:
            return body
        err = body["error"]
        raise GatewayError(ErrorCode.INVALID_REQUEST, err["message"], details={"type": err["type"], "status": status})

    return {"tools.catalog": catalog, "tools.effective": effective, "tools.invoke": invoke}


async def invoke_body(worker: Any, params: dict[str, Any], surface: str) -> tuple[int, dict[str, Any]]:
    """The /tools/invoke answer for a request body: (HTTP status, JSON body) as brief §5.6."""
    def fail(status: int, type_: str, message: str) -> tuple[int, dict[str, Any]]:
        return status, {"ok": False, "error": {"type": type_, "message": message}}

    name = params.get("tool", params.get("name"))
    if not isinstance(name, str) or not name.strip():
        return fail(400, "invalid_request", "tools.invoke requires name")
    agent = params.get("agentId") or worker.default_agent
    if not isinstance(agent, str) or agent not in agent_ids(worker):
        return fail(400, "invalid_request", f'unknown agent id "{agent}"')
    args = params.get("args")
    action = params.get("action")
    if isinstance(action, str) and (args is None or isinstance(args, dict)):
        args = {**(args or {}), "action": action}
    session_key = params.get("sessionKey")
    if session_key is not None and not isinstance(session_key, str):
        return fail(400, "invalid_request", "sessionKey must be a string")
    if session_key is not None:
        try:
            from openclaw.ipc.agent_db.keys import canonical_key

            session_key = canonical_key(session_key, agent)
        except GatewayError as exc:
            return fail(400, "invalid_request", exc.message)
    reg = _registry(worker)
    ctx = ToolContext(agent, session_key, None, surface)
    if params.get("dryRun") is True:
        from openclaw.workers.agent.tools import policy

        if not policy.http_allowed(worker.config, name, reg.implemented):
            return fail(404, "not_found", f"Tool not available: {name}")
        return 200, {"ok": True, "result": {"content": [], "details": {"dryRun": True, "tool": name}}}
    try:
        result = await reg.invoke(name, args, ctx)
    except ToolDenied as exc:
        return fail(404, "not_found", str(exc))
    except ToolArgError as exc:
        return fail(400, "tool_error", str(exc))
    except ToolFailed:
        return fail(500, "tool_error", "tool execution failed")
    return 200, {"ok": True, "result": result.as_content()}


def topics(worker: Any) -> dict[str, Any]:
    async def http_tools_invoke(params: dict[str, Any]) -> dict[str, Any]:
        status, body = await invoke_body(worker, params, "http")
        return {"status": status, "body": body}

    async def http_embeddings(params: dict[str, Any]) -> dict[str, Any]:
        """{agentId, inputs:[str], model?} -> {ok, vectors, model} | {ok:false, kind, message}."""
        from openclaw.workers.agent.providers.base import ProviderError

        agent = params.get("agentId") or worker.default_agent
        inputs = params.get("inputs")
        if not isinstance(inputs, list) or not inputs or len(inputs) > MAX_EMBED_INPUTS:
            return {"ok": False, "kind": "bad_request", "message": "bad inputs"}
        override = params.get("model") if isinstance(params.get("model"), str) else None
        try:
            from openclaw.workers.agent.providers import catalog

            result = await catalog.embed(worker.config, agent, inputs, override)
        except ProviderError as exc:
            return {"ok": False, "kind": exc.kind, "message": exc.message}
        except ImportError:
            return {"ok": False, "kind": "config", "message": "no embedding provider configured (memory.search)"}
        return {"ok": True, "vectors": result.vectors, "model": result.model, "usageTokens": result.usage_tokens}

    return {"http.tools.invoke": http_tools_invoke, "http.embeddings": http_embeddings}
