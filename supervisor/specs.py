"""Which processes exist, derived from config: the front-end, the agent and node workers, one
channel worker per enabled channel account (ipc/channels_config.py), the canvas host unless it is
turned off (ipc/canvas_config.py), and the optional advertiser (DNS-SD, ipc/discovery_config.py).

An *optional* child is a subsystem the gateway serves without (field report R13): it is never
given up on (backoff capped at 60 s instead of FATAL) and /readyz lists it as degraded, not failing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openclaw.ipc import canvas_config
from openclaw.ipc.channels_config import channel_accounts
from openclaw.ipc.discovery_config import resolve_discovery


@dataclass(frozen=True)
class ChildSpec:
    name: str  # "frontend", "agent", "node", "channel:telegram"
    role: str  # "frontend" | "worker"
    kind: str  # "frontend" | "agent" | "node" | "channel"
    module: str  # run as `python -m <module>`
    title: str  # process title
    channel_id: str | None = None
    optional: bool = False  # fails soft: restarted with backoff forever, never FATAL, never un-ready


FRONTEND = ChildSpec("frontend", "frontend", "frontend", "openclaw.frontend", "openclaw-gateway: frontend")
AGENT = ChildSpec("agent", "worker", "agent", "openclaw.workers.agent", "openclaw-gateway: worker agent")
NODE = ChildSpec("node", "worker", "node", "openclaw.workers.node", "openclaw-gateway: worker node")
ADVERTISER = ChildSpec(
    "advertiser", "worker", "advertiser", "openclaw.workers.advertiser", "openclaw-gateway: advertiser", optional=True,
)
CANVAS = ChildSpec(
    "canvas", "worker", "canvas", "openclaw.workers.canvas", "openclaw-gateway: canvas", optional=True,
)


def channel_spec(channel_id: str) -> ChildSpec:
    return ChildSpec(
        f"channel:{channel_id}", "worker", "channel", "openclaw.workers.channel",
        f"openclaw-gateway: channel {channel_id}", channel_id,
    )


def configured_channels(config: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    """Channel ids ("telegram", "telegram:work", "webhook:crm") of the enabled channel accounts: one
    process each (none when OPENCLAW_SKIP_CHANNELS is set)."""
    return list(channel_accounts(config, env))


def derive_specs(config: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, ChildSpec]:
    """Every child the config asks for, front-end first (dict order is start order)."""
    specs = {s.name: s for s in (FRONTEND, AGENT, NODE)}
    for cid in configured_channels(config, env):
        spec = channel_spec(cid)
        specs[spec.name] = spec
    if canvas_config.enabled(config, env):
        specs[CANVAS.name] = CANVAS
    if resolve_discovery(config, env).active:
        specs[ADVERTISER.name] = ADVERTISER
    return specs
