"""Who may send what on the control socket, as a table.

A child's routing identity is its instance id, and a ROUTER never lets a second connection
use an identity in use, so the identity says which process sent a message. A lifecycle message
must be about its sender (a child cannot report another one ready or failed); questions and
config writes come from the front-end only (a worker has no business restarting the gateway).
Anything else is refused: counted and logged once per peer, like malformed input.
"""

from __future__ import annotations

from collections.abc import Callable

from openclaw.ipc import control

SELF = "self"  # msg.instance must be the sender's identity
FRONTEND = "frontend"  # the sender must be a front-end process of this tree

RULES: dict[type, str] = {
    control.ChildHello: SELF,
    control.ChildReady: SELF,
    control.ChildHeartbeat: SELF,
    control.ChildBootFailed: SELF,
    control.StatusQuery: FRONTEND,
    control.RestartRequest: FRONTEND,
    control.ConfigQuery: FRONTEND,
    control.ConfigWrite: FRONTEND,
}


def refusal(identity: bytes, msg: control.ChildToSupervisor, role_of: Callable[[str], str | None]) -> str | None:
    """Why `msg` from `identity` is refused, or None when it may be handled.
    `role_of(instance)` is the role of a live process of the tree ("frontend", "worker") or None."""
    rule = RULES.get(type(msg))
    sender = identity.decode("utf-8", errors="replace")
    if rule == SELF:
        instance = getattr(msg, "instance", None)
        return None if instance == sender else f"{type(msg).__name__} about {str(instance)[:64]!r} from another peer"
    if rule == FRONTEND:
        return None if role_of(sender) == "frontend" else f"{type(msg).__name__} from a peer that is not the front-end"
    return f"{type(msg).__name__} is not accepted here"
