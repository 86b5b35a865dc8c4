"""What each child may see of the config: the gateway's own secrets (auth token/password, the
remote client's credentials) reach only the front-end, which judges connects; workers get the
config without them."""

from __future__ import annotations

from typing import Any

import msgspec

from openclaw.ipc.config import ResolvedGateway

GATEWAY_SECRET_PATHS = (("auth", "token"), ("auth", "password"), ("remote", "token"), ("remote", "password"))


def for_child(role: str, gateway: ResolvedGateway, config_json: bytes) -> tuple[ResolvedGateway, bytes]:
    if role == "frontend":
        return gateway, config_json
    data: Any = msgspec.json.decode(config_json) if config_json else {}
    section = data.get("gateway") if isinstance(data, dict) else None
    if isinstance(section, dict):
        for parent, key in GATEWAY_SECRET_PATHS:
            holder = section.get(parent)
            if isinstance(holder, dict) and key in holder:
                holder[key] = None
    stripped = msgspec.structs.replace(gateway, token=None, password=None)
    return stripped, msgspec.json.encode(data)
