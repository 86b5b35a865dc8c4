"""The settings this front-end runs with. A hot config change (ApplyConfig) replaces them in place;
readers look them up on use, so nothing holds a stale copy."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec

from openclaw.ipc import control
from openclaw.ipc.config import ResolvedGateway, config_value


def secret_digest(secret: str | None) -> bytes | None:
    return None if secret is None else hashlib.sha256(secret.encode()).digest()


class Settings:
    def __init__(self, cfg: control.Configure) -> None:
        self.boot_id = cfg.boot_id
        self.started_at_ms = cfg.started_at_ms
        self.supervisor_pid = cfg.supervisor_pid
        self.runtime_dir = cfg.runtime_dir
        self.gateway: ResolvedGateway = cfg.gateway
        self.config: dict[str, Any] = msgspec.json.decode(cfg.config) if cfg.config else {}
        self.on_change: list[Callable[[control.ApplyConfig], None]] = []

    def apply(self, msg: control.ApplyConfig) -> None:
        self.gateway = msg.gateway
        self.config = msgspec.json.decode(msg.config) if msg.config else {}
        for callback in self.on_change:
            callback(msg)

    def value(self, dotted: str, default: Any = None) -> Any:
        return config_value(self.config, dotted, default)

    @property
    def expected_secret(self) -> str | None:
        g = self.gateway
        return g.token if g.auth_mode == "token" else g.password if g.auth_mode == "password" else None

    def current_secret_digest(self) -> bytes | None:
        return secret_digest(self.expected_secret)
