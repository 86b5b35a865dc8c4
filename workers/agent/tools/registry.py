"""The agent worker's tool registry: what a run offers the model, running a call, and the
catalog/effective views of the tools.* RPCs.

    specs_for_run(agent_id) -> [ToolSpec]       (policy.run_allowed)
    await execute(name, args, ctx) -> ToolResult (never raises: errors are is_error results)
    await invoke(name, args, ctx) -> ToolResult  (/tools/invoke, tools.invoke: raises ToolDenied /
                                                  ToolArgError / ToolFailed for the HTTP status)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from openclaw.ipc.logs import get_logger
from openclaw.workers.agent.providers.base import ToolSpec

from . import policy
from .builtin import IMPLEMENTED, ToolArgError, ToolContext
from .catalog import TOOLS

TOOL_TIMEOUT_S = 30.0
log = get_logger("worker/agent/tools")


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool = False
    details: Any = None

    def as_content(self) -> dict[str, Any]:
        body: dict[str, Any] = {"content": [{"type": "text", "text": self.text}]}
        if self.details is not None:
            body["details"] = self.details
        return body


class ToolDenied(Exception):
    """Unknown, unimplemented or not allowed here: HTTP 404 "Tool not available: <name>"."""


class ToolFailed(Exception):
    """The tool raised: HTTP 500 "tool execution failed" (the cause is logged, not shown)."""


class ToolRegistry:
    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.implemented = set(IMPLEMENTED)

    # ------------------------------------------------------------------ agent runs

    def specs_for_run(self, agent_id: str) -> list[ToolSpec]:
        out = []
        for name in policy.run_allowed(self.worker.config, agent_id, self.implemented):
            schema, _ = IMPLEMENTED[name]
            out.append(ToolSpec(name, TOOLS[name].description if name in TOOLS else name, schema))
        return out

    async def execute(self, name: str, args: Any, ctx: Any) -> ToolResult:
        """A model's tool call inside a run: only the tools offered to this agent; errors become
        results the model reads (is_error)."""
        c = ToolContext.of(ctx, self.worker.default_agent)
        if name not in policy.run_allowed(self.worker.config, c.agent_id, self.implemented):
            return ToolResult(f"Tool not available: {name}", is_error=True)
        try:
            return await self._run(name, args, c)
        except ToolArgError as exc:
            return ToolResult(str(exc), is_error=True)
        except ToolFailed:
            return ToolResult("tool execution failed", is_error=True)

    # ------------------------------------------------------------------ /tools/invoke, tools.invoke

    async def invoke(self, name: str, args: Any, ctx: ToolContext) -> ToolResult:
        if not policy.http_allowed(self.worker.config, name, self.implemented):
            raise ToolDenied(f"Tool not available: {name}")
        return await self._run(name, args, ctx)

    async def _run(self, name: str, args: Any, ctx: ToolContext) -> ToolResult:
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ToolArgError("args must be an object")
        _, run = IMPLEMENTED[name]
        try:
            text, details = await asyncio.wait_for(run(self.worker, args, ctx), TOOL_TIMEOUT_S)
        except ToolArgError:
            raise
        except Exception as exc:
            log.warn("tool failed", tool=name, error=repr(exc)[:300])
            raise ToolFailed(name) from exc
        return ToolResult(text, False, details)

    # ------------------------------------------------------------------ views

    def effective(self, agent_id: str) -> list[str]:
        return policy.run_allowed(self.worker.config, agent_id, self.implemented)
