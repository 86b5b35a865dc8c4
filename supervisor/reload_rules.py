"""Which process a config key belongs to, and how a change to it is applied: one table,
longest prefix wins (upstream's `config-reload-plan` mapped onto our processes)."""

from __future__ import annotations

import enum


class Effect(str, enum.Enum):
    NONE = "none"  # nothing reads it at run time
    SUPERVISOR = "supervisor"  # the supervisor applies it itself
    HOT_ALL = "hot-all"  # pushed to every process
    HOT_FRONTEND = "hot-frontend"  # pushed to the front-end
    ROTATE_SECRET = "rotate-secret"  # hot in the front-end; connections using the old secret are closed
    HOT_AGENT = "hot-agent"  # pushed to the agent worker
    REPLACE_AGENT = "replace-agent"  # a new agent worker, blue/green
    REPLACE_NODE = "replace-node"  # a new node worker, blue/green
    CHANNEL = "channel"  # channels.<id>: that channel's worker only (start / replace / stop)
    RESTART_FRONTEND = "restart-frontend"  # a new front-end (clients get shutdown + 1012)
    ADVERTISER = "advertiser"  # discovery.*: pushed to the advertiser (re-announced), or it starts / stops
    HOT_CANVAS = "hot-canvas"  # pushed to the canvas host (it rebinds or changes its root itself)


RULES: dict[str, Effect] = {
    "gateway": Effect.RESTART_FRONTEND,  # anything else under gateway (port, bind, tls, auth.mode, ...)
    "gateway.mode": Effect.NONE,  # "remote" is refused when the config is resolved
    "gateway.reload": Effect.SUPERVISOR,
    "gateway.remote": Effect.NONE,
    "gateway.http.endpoints": Effect.HOT_FRONTEND,
    "gateway.http.securityHeaders": Effect.HOT_FRONTEND,
    "gateway.controlUi": Effect.HOT_FRONTEND,
    "gateway.tools": Effect.HOT_FRONTEND,
    "gateway.trustedProxies": Effect.HOT_FRONTEND,
    "gateway.allowRealIpFallback": Effect.HOT_FRONTEND,
    "gateway.publicOrigin": Effect.HOT_FRONTEND,
    "gateway.auth.rateLimit": Effect.HOT_FRONTEND,
    "gateway.auth.allowTailscale": Effect.HOT_FRONTEND,
    "gateway.auth.identityScopes": Effect.HOT_FRONTEND,
    "gateway.auth.trustedProxy": Effect.HOT_FRONTEND,
    "gateway.auth.token": Effect.ROTATE_SECRET,
    "gateway.auth.password": Effect.ROTATE_SECRET,
    "gateway.nodes": Effect.REPLACE_NODE,
    "logging": Effect.HOT_ALL,
    "hooks": Effect.HOT_FRONTEND,
    "commands": Effect.SUPERVISOR,
    "agents": Effect.HOT_AGENT,
    "models": Effect.HOT_AGENT,  # read per run: in-flight runs keep the provider they started with
    "tools": Effect.HOT_AGENT,
    "memory": Effect.HOT_AGENT,
    "memory.search": Effect.REPLACE_AGENT,  # the embedding index is built at start (upstream: restart)
    "session": Effect.HOT_AGENT,
    "channels": Effect.CHANNEL,
    "discovery": Effect.ADVERTISER,
    "canvasHost": Effect.HOT_CANVAS,
    "gateway.canvasHost": Effect.HOT_CANVAS,
    "meta": Effect.NONE,
    "wizard": Effect.NONE,
}
DEFAULT = Effect.NONE  # unknown top-level sections: nothing of ours reads them


def classify(path: str) -> Effect:
    """The effect of the longest rule that is `path` or a dotted prefix of it."""
    probe = path
    while True:
        effect = RULES.get(probe)
        if effect is not None:
            return effect
        cut = probe.rfind(".")
        if cut < 0:
            return DEFAULT
        probe = probe[:cut]
