"""The principal of one connection, decided once at connect and read by every authorization check."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    role: str  # "operator" | "node"
    scopes: tuple[str, ...]  # effective operator scopes (after clearing); () for nodes
    auth_method: str  # hello-ok auth.method: none | token | password | device-token | trusted-proxy
    device_id: str | None = None
    client_id: str = ""
    client_mode: str = ""
    is_local: bool = False  # a direct loopback peer, no forwarded headers, no browser Origin
    origin: str | None = None  # the browser Origin header, when there was one


NOBODY = Principal(role="operator", scopes=(), auth_method="none")
