"""Which processes exist, derived from config: the front-end, the agent and node workers, and one
channel worker per configured channel (`channels.<id>` whose `enabled` is not false)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChildSpec:
    name: str  # "frontend", "agent", "node", "channel:telegram"
    role: str  # "frontend" | "worker"
    kind: str  # "frontend" | "agent" | "node" | "channel"
    module: str  # run as `python -m <module>`
    title: str  # process title
    channel_id: str | None = None


FRONTEND = ChildSpec("frontend", "frontend", "frontend", "openclaw.frontend", "openclaw-gateway: frontend")
AGENT = ChildSpec("agent", "worker", "agent", "openclaw.workers.agent", "openclaw-gateway: worker agent")
NODE = ChildSpec("node", "worker", "node", "openclaw.workers.node", "openclaw-gateway: worker node")


def channel_spec(channel_id: str) -> ChildSpec:
    return ChildSpec(
        f"channel:{channel_id}", "worker", "channel", "openclaw.workers.channel",
        f"openclaw-gateway: channel {channel_id}", channel_id,
    )


def configured_channels(config: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    """Channel ids with a section whose `enabled` is not false (none when OPENCLAW_SKIP_CHANNELS is set)."""
    if (os.environ if env is None else env).get("OPENCLAW_SKIP_CHANNELS") not in (None, "", "0"):
        return []
    channels = config.get("channels")
    if not isinstance(channels, dict):
        return []
    return sorted(cid for cid, section in channels.items() if isinstance(section, dict) and section.get("enabled") is not False)


def derive_specs(config: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, ChildSpec]:
    """Every child the config asks for, front-end first (dict order is start order)."""
    specs = {s.name: s for s in (FRONTEND, AGENT, NODE)}
    for cid in configured_channels(config, env):
        spec = channel_spec(cid)
        specs[spec.name] = spec
    return specs
