"""Where a run lands (spec ANC §2.1/§2.3):

| params                                  | session key                             | sessionId        |
| --------------------------------------- | --------------------------------------- | ---------------- |
| sessionKey K                            | canonical(K) (bare keys get the agent)  | the store's      |
| agentId A, no sessionKey                | agent:A:<mainKey> (the CLI's runs)      | the store's      |
| sessionId S only                        | agent:<default>:explicit:S              | S                |
| nothing                                 | agent:<default>:explicit:<idempotencyKey> | idempotencyKey |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openclaw.ipc import agents_config
from openclaw.ipc.agent_db import keys
from openclaw.ipc.config import config_value
from openclaw.ipc.errors import invalid_request


@dataclass(frozen=True)
class Target:
    agent_id: str
    session_key: str
    session_id: str | None  # forced session id (explicit sessions), else the store decides


def main_key_name(config: dict[str, Any]) -> str:
    value = config_value(config, "session.mainKey", "main")
    return value if isinstance(value, str) and value.strip() else "main"


def resolve(method: str, params: dict[str, Any], config: dict[str, Any], default_agent: str,
            *, key_field: str = "sessionKey") -> Target:
    agents = agents_config.runtime_agents(config)
    agent = params.get("agentId")
    if agent is not None:
        if not isinstance(agent, str) or agent.strip().lower() not in agents:
            raise invalid_request(f'invalid {method} params: unknown agent id "{agent}"')
        agent = agent.strip().lower()
    raw_key = params.get(key_field)
    main = main_key_name(config)
    if raw_key is not None:
        if not isinstance(raw_key, str) or not raw_key.strip():
            raise invalid_request(f"invalid {method} params: {key_field} must be a non-empty string")
        key = keys.canonical_key(raw_key, agent or default_agent, main_key=main)
        owner = keys.agent_of(key)
        if owner is not None and owner not in agents:
            raise invalid_request(f'invalid {method} params: unknown agent id "{owner}"')
        if agent is not None and owner is not None and owner != agent:
            raise invalid_request(f"invalid {method} params: sessionKey {key} belongs to agent {owner}, not {agent}")
        return Target(owner or agent or default_agent, key, None)
    if agent is not None:
        return Target(agent, keys.canonical_key(main, agent, main_key=main), None)
    session_id = params.get("sessionId")
    if isinstance(session_id, str) and session_id.strip():
        sid = session_id.strip()
        return Target(default_agent, keys.canonical_key(f"agent:{default_agent}:explicit:{sid}", default_agent), sid)
    idem = params["idempotencyKey"]
    return Target(default_agent, keys.canonical_key(f"agent:{default_agent}:explicit:{idem}", default_agent), idem)
