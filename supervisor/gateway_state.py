"""The gateway-wide state machine of the supervisor, as a table."""

from __future__ import annotations

import enum


class GatewayState(str, enum.Enum):
    STARTING = "starting"  # children starting, not all Ready yet
    RUNNING = "running"
    RESTARTING = "restarting"  # in-process restart: children stopping / respawning
    STOPPING = "stopping"
    STOPPED = "stopped"


class GatewayEvent(str, enum.Enum):
    READY = "ready"  # the front-end and every worker reported Ready
    RESTART = "restart"
    RESPAWNED = "respawned"
    STOP = "stop"
    STOPPED = "stopped"


_S, _E = GatewayState, GatewayEvent
TRANSITIONS: dict[tuple[GatewayState, GatewayEvent], GatewayState] = {
    (_S.STARTING, _E.READY): _S.RUNNING,
    (_S.STARTING, _E.RESTART): _S.RESTARTING,
    (_S.STARTING, _E.STOP): _S.STOPPING,
    (_S.RUNNING, _E.READY): _S.RUNNING,
    (_S.RUNNING, _E.RESTART): _S.RESTARTING,
    (_S.RUNNING, _E.STOP): _S.STOPPING,
    (_S.RESTARTING, _E.RESPAWNED): _S.STARTING,
    (_S.RESTARTING, _E.STOP): _S.STOPPING,
    (_S.STOPPING, _E.STOPPED): _S.STOPPED,
}


def next_state(state: GatewayState, event: GatewayEvent) -> GatewayState | None:
    """The state after `event`, or None when the event does not apply in `state`."""
    return TRANSITIONS.get((state, event))
