"""Which agents a config declares and which one is the default: read by the agent worker (runs,
agents.list), the front-end (hello-ok sessionDefaults, HTTP model targets) and the CLI.

    agents.entries: {<id>: {...}}               the current form (several need ownership "explicit")
    agents.list:    [{id, default?: true}, ...]  legacy; accepted and read the same way
    neither                                      one agent, "main"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DEFAULT_AGENT = "main"
AGENT_ID = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,63}$", re.I)


def _agents(config: Mapping[str, Any]) -> Mapping[str, Any]:
    agents = config.get("agents") if isinstance(config, Mapping) else None
    return agents if isinstance(agents, Mapping) else {}


def agent_ids(config: Mapping[str, Any]) -> list[str]:
    """The configured agent ids, lower-cased, in config order; ["main"] when none are declared."""
    agents = _agents(config)
    ids: list[str] = []
    entries = agents.get("entries")
    if isinstance(entries, Mapping):
        ids += [str(k).lower() for k in entries if AGENT_ID.match(str(k))]
    legacy = agents.get("list")
    if isinstance(legacy, list):
        ids += [str(a["id"]).lower() for a in legacy if isinstance(a, Mapping) and AGENT_ID.match(str(a.get("id", "")))]
    out = list(dict.fromkeys(ids))
    return out or [DEFAULT_AGENT]


def default_agent_id(config: Mapping[str, Any]) -> str:
    """`default: true` (entries or legacy list), else "main" when declared, else the first agent."""
    agents = _agents(config)
    for source in (agents.get("entries"), agents.get("list")):
        items = source.items() if isinstance(source, Mapping) else (
            [(a.get("id"), a) for a in source if isinstance(a, Mapping)] if isinstance(source, list) else [])
        for aid, body in items:
            if isinstance(body, Mapping) and body.get("default") is True and AGENT_ID.match(str(aid or "")):
                return str(aid).lower()
    ids = agent_ids(config)
    return DEFAULT_AGENT if DEFAULT_AGENT in ids else ids[0]


def runtime_agents(config: Mapping[str, Any]) -> list[str]:
    """The agents runs and HTTP targets may name: the default first, then the other configured ones."""
    default = default_agent_id(config)
    return [default] + [a for a in agent_ids(config) if a != default]


def model_configured(config: Mapping[str, Any]) -> bool:
    """A provider or a default model is configured (else runs use the offline openclaw-local)."""
    models = config.get("models") if isinstance(config, Mapping) else None
    providers = models.get("providers") if isinstance(models, Mapping) else None
    defaults = _agents(config).get("defaults")
    return bool(providers) or (isinstance(defaults, Mapping) and bool(defaults.get("model")))
