"""The one authorization policy (spec §2.6, §2.7): which scopes a connection keeps, whether a call
is allowed, which broadcast events a connection may see. Handlers never check scopes themselves.

Calls:   health is exempt -> node-only methods need role node -> nodes may call nothing else ->
         the method's scope from the generated table (unknown methods need operator.admin, so the
         scope check comes before "unknown method").
Events:  a table of event families -> the scope needed; unknown families are hidden (fail closed).
"""

from __future__ import annotations

from typing import Any

import msgspec

from openclaw.ipc import node_invoke, scopes
from openclaw.ipc.errors import DECODE_ERRORS, ErrorCode, GatewayError, invalid_request

from .principal import Principal

# ------------------------------------------------------------------ connect: device-less operators

# (client.id, client.mode) pairs that keep their requested scopes without a device identity, when
# they connect directly over loopback with no browser Origin (spec §2.6).
LOCAL_SCOPE_EXCEPTIONS = frozenset({("cli", "cli"), ("gateway-client", "backend")})
# Clients that are browsers by nature: never without a device identity.
CONTROL_UI_CLIENT_IDS = frozenset({"openclaw-control-ui", "webchat-ui"})


def is_control_ui(client_id: str, client_mode: str) -> bool:
    return client_id.lower() in CONTROL_UI_CLIENT_IDS or client_mode == "ui"


def scopes_without_device(client_id: str, client_mode: str, requested: list[str] | None, *, is_local: bool, has_origin: bool) -> tuple[str, ...]:
    """A shared-secret operator with no device: its requested scopes for the two local exceptions,
    none for everyone else (probe, test, mismatched id/mode pairs, remote or browser peers)."""
    if not is_local or has_origin:
        return ()
    if (client_id.lower(), client_mode) not in LOCAL_SCOPE_EXCEPTIONS:
        return ()
    return tuple(scopes.normalize(requested))


# ------------------------------------------------------------------ calls


def missing_scope(needed: str) -> GatewayError:
    return GatewayError(
        ErrorCode.FORBIDDEN,
        f"missing scope: {needed}",
        details={"code": "MISSING_SCOPE", "missingScope": needed, "requiredScopes": [needed]},
    )


def check_call(principal: Principal, method: str, raw_params: bytes) -> None:
    """Raise the error the caller gets when `principal` may not call `method`."""
    if method in scopes.SCOPE_EXEMPT:
        return
    table_scope = scopes.method_table().get(method)
    if table_scope == "node":
        if principal.role != "node":
            raise invalid_request(f"unauthorized role: {principal.role}")
        return
    if principal.role != "operator":
        raise invalid_request(f"unauthorized role: {principal.role}")
    params: Any = None
    if table_scope == "dynamic" and raw_params:
        try:
            params = msgspec.json.decode(raw_params)
        except DECODE_ERRORS:
            params = None
    needed = scopes.required_scope(method, params)
    if not scopes.satisfies(principal.scopes, needed):  # type: ignore[arg-type]
        raise missing_scope(needed)


def has_scope(principal: Principal, needed: str) -> bool:
    return principal.role == "operator" and scopes.satisfies(principal.scopes, needed)  # type: ignore[arg-type]


# ------------------------------------------------------------------ events

EVERYONE = ""  # any authenticated connection, operators and nodes
HIDDEN = None  # nobody: unknown families, and events only ever sent to one connection

EVENT_SCOPES: dict[str, str | None] = {
    "tick": EVERYONE,
    "health": EVERYONE,
    "presence": EVERYONE,
    "heartbeat": EVERYONE,
    "shutdown": EVERYONE,
    "agent": scopes.READ,
    "chat": scopes.READ,
    "chat.metadata.changed": scopes.READ,
    "sessions.changed": scopes.READ,
    "session.message": scopes.READ,
    "session.tool": scopes.READ,
    "config.changed": scopes.READ,
    "cron": scopes.READ,
    "update.available": scopes.READ,
    "channels.changed": scopes.READ,
    "node.presence": scopes.READ,
    "node.runnerInventory.changed": scopes.READ,
    "node.event": scopes.READ,
    "node.pair.requested": scopes.PAIRING,
    "node.pair.resolved": scopes.PAIRING,
    "device.pair.requested": scopes.PAIRING,
    "device.pair.resolved": scopes.PAIRING,
    "device.pair.changed": scopes.PAIRING,
    "exec.approval.requested": "operator.approvals",
    "exec.approval.resolved": "operator.approvals",
    # sent to one node only, never broadcast
    "node.invoke.request": HIDDEN,
    "node.invoke.cancel": HIDDEN,
    "connect.challenge": HIDDEN,
}


def event_scope(event: str) -> str | None:
    """The scope a broadcast of `event` needs: EVERYONE, a scope, or HIDDEN (unknown: fail closed)."""
    return EVENT_SCOPES.get(event, HIDDEN)


def may_receive(principal: Principal, needed: str | None) -> bool:
    if needed is None:
        return False
    if needed == EVERYONE:
        return True
    return has_scope(principal, needed)


# ------------------------------------------------------------------ how long a routed call may take

DEFAULT_CALL_TIMEOUT_S = 10.0
_LONG_CALLS = frozenset({"node.invoke", "agent.wait"})
MAX_WAIT_S = 24 * 3600.0


def call_timeout_s(method: str, raw_params: bytes) -> float:
    """The router's deadline: the default, or a call's own budget plus a margin for the answer.
    (`agent` answers `accepted` at once and then holds the call for the run's own timeout.)"""
    if method not in _LONG_CALLS or not raw_params:
        return DEFAULT_CALL_TIMEOUT_S
    try:
        params = msgspec.json.decode(raw_params)
    except DECODE_ERRORS:
        return DEFAULT_CALL_TIMEOUT_S
    if method == "agent.wait":
        wait_ms = params.get("timeoutMs") if isinstance(params, dict) else None
        if isinstance(wait_ms, (int, float)) and not isinstance(wait_ms, bool) and wait_ms >= 0:
            return min(MAX_WAIT_S, wait_ms / 1000) + 2.0
        return 30.0 + 2.0  # agent.wait's default window
    return node_invoke.timeout_ms(params) / 1000 + 2.0
