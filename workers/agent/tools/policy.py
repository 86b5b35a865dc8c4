"""Which tools an agent run may call and which /tools/invoke may run (brief §4.2-4.3).

Agent loop:  SAFE tools, plus `tools.allow` and `agents.entries.<id>.tools.allow`, minus
             `tools.deny` and the agent's `tools.deny`. Deny wins.
HTTP/RPC invoke: SAFE tools and the non-denied STATE tools, plus whatever `gateway.tools.allow`
             names, minus the default HTTP deny list (an allow takes an entry off it) and
             `gateway.tools.deny`; the coding tools (fs/runtime) never.
Either way a tool must also have an implementation here. All of it reads the config on each
call, so a hot change of `tools` / `gateway.tools` / `agents` applies to the next call.
"""

from __future__ import annotations

from typing import Any

from openclaw.ipc.config import config_value

from .catalog import CODING_TOOLS, DEFAULT_HTTP_DENY, SAFE, TOOLS, expand


def _agent_tools_section(config: dict[str, Any], agent_id: str) -> dict[str, Any]:
    entries = config_value(config, "agents.entries", None)
    entry = entries.get(agent_id) if isinstance(entries, dict) else None
    section = entry.get("tools") if isinstance(entry, dict) else None
    return section if isinstance(section, dict) else {}


def run_allowed(config: dict[str, Any], agent_id: str, implemented: set[str]) -> list[str]:
    """The tools a model in an `agent` run is offered, sorted."""
    agent = _agent_tools_section(config, agent_id)
    allowed = {t for t, info in TOOLS.items() if info.cls == SAFE}
    allowed |= expand(config_value(config, "tools.allow", None)) | expand(agent.get("allow"))
    allowed -= expand(config_value(config, "tools.deny", None)) | expand(agent.get("deny"))
    return sorted(allowed & implemented)


def http_allowed(config: dict[str, Any], name: str, implemented: set[str]) -> bool:
    """May /tools/invoke (and the tools.invoke RPC) run `name`?"""
    if name not in implemented or name in CODING_TOOLS:
        return False
    allow = expand(config_value(config, "gateway.tools.allow", None))
    deny = (DEFAULT_HTTP_DENY - allow) | expand(config_value(config, "gateway.tools.deny", None))
    if name in deny:
        return False
    info = TOOLS.get(name)
    if info is None:
        return name in allow
    return info.cls != "host" or name in allow
