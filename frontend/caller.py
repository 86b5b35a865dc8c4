"""What the rest of the front-end may know about a client connection (ws/session.py implements it).

A protocol, so routing, broadcasting and local methods can answer a connection without
importing the WebSocket session (no import cycles).
"""

from __future__ import annotations

from typing import Protocol

from openclaw.ipc import frames

from .auth.principal import Principal


class Connection(Protocol):
    conn_id: str
    peer: str
    is_local: bool
    principal: Principal  # decided at connect (frontend/auth); every authorization check reads it
    client: frames.ClientInfo | None
    secret_digest: bytes | None  # which shared secret it authenticated with (rotation closes it)
    inflight: int  # routed calls not answered yet

    def send_raw(self, payload: bytes) -> None: ...

    def send_event(self, prefix: bytes) -> None: ...

    def close_soon(self, code: int, reason: str) -> None: ...

    def abort(self) -> None: ...
