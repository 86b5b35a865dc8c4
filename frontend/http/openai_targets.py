"""OpenAI `model` as an agent target (brief §5.1): `openclaw`, `openclaw/default` (the default
agent), `openclaw/<agentId>`, `openclaw:<agentId>`, `agent:<agentId>`; the agents known from the
config (`agents.entries`, the legacy `agents.list`, else the default `main`).

Precedence (our decision, brief §8.12): `x-openclaw-agent-id` > the `model` target; session:
`x-openclaw-session-key` > the OpenAI `user` field (`agent:<id>:openai-user:<user>`) > a fresh
`agent:<id>:openai:<uuid>` per request.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from openclaw.ipc import agents_config

USER_KEY = re.compile(r"[^A-Za-z0-9_.@-]+")
INVALID_MODEL = "Invalid `model`. Use `openclaw` or `openclaw/<agentId>`."


default_agent = agents_config.default_agent_id
agent_ids = agents_config.runtime_agents  # the default first


def model_ids(config: dict[str, Any]) -> list[str]:
    return ["openclaw", "openclaw/default"] + [f"openclaw/{a}" for a in agent_ids(config)]


def agent_of_model(config: dict[str, Any], model: str) -> str | None:
    """The agent a `model` target names, or None when it is not a valid target."""
    if model in ("openclaw", "openclaw/default"):
        return default_agent(config)
    for prefix in ("openclaw/", "openclaw:", "agent:"):
        if model.startswith(prefix):
            agent = model[len(prefix):]
            if agent == "default":
                return default_agent(config)
            return agent if agent in agent_ids(config) else None
    return None


def pick_agent(config: dict[str, Any], model: str, header_agent: str | None) -> str | None:
    """`x-openclaw-agent-id` wins over `model` (both must name a known agent)."""
    target = agent_of_model(config, model)
    if target is None:
        return None
    if header_agent:
        return header_agent if header_agent in agent_ids(config) else None
    return target


def session_key_for(agent: str, header_key: str | None, user: Any) -> str:
    if header_key:
        return header_key  # canonicalized by the agent worker (agent:<id>:… prefixing, `main` alias)
    if isinstance(user, str) and user.strip():
        return f"agent:{agent}:openai-user:{USER_KEY.sub('-', user.strip())[:128]}"
    return f"agent:{agent}:openai:{uuid.uuid4()}"
