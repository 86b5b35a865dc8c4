"""hello-ok, built from the typed structs in openclaw.ipc.frames (spec §2.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from openclaw.ipc import agents_config, frames, scopes

from ..auth.connect import Grant
from ..caller import Connection
from .limits import MAX_BUFFERED_BYTES, MAX_PAYLOAD

if TYPE_CHECKING:
    from ..services import Services

_json = msgspec.json.Encoder()


def session_defaults(config: dict) -> frames.SessionDefaults:
    agent = agents_config.default_agent_id(config)
    several = len(agents_config.agent_ids(config)) > 1
    return frames.SessionDefaults(
        defaultAgentId=agent, modelConfigured=agents_config.model_configured(config),
        ownership="explicit" if several else "sole", mainSessionKey=f"agent:{agent}:main",
    )


def hello_payload(svc: Services, conn: Connection, protocol: int, grant: Grant) -> bytes:
    g = svc.settings.gateway
    p = grant.principal
    admin = scopes.ADMIN in p.scopes
    hello = frames.HelloOk(
        protocol=protocol,
        server=frames.ServerInfo(version=svc.version, connId=conn.conn_id, bootId=svc.settings.boot_id, buildId=svc.build_id),
        features=msgspec.Raw(svc.features()),
        snapshot=frames.Snapshot(
            presence=msgspec.Raw(svc.presence.encoded()),
            health=msgspec.Raw(svc.health.snapshot_payload),
            stateVersion=svc.state_version(),
            uptimeMs=svc.uptime_ms(),
            sessionDefaults=session_defaults(svc.settings.config),
            configPath=g.config_path if admin else None,  # admin connections only (spec §2.4)
            stateDir=g.state_dir if admin else None,
            authMode=g.auth_mode if admin else None,
        ),
        auth=frames.HelloAuth(
            role=p.role, scopes=list(p.scopes), method=p.auth_method, deviceToken=grant.device_token,
            issuedAtMs=grant.issued_at_ms,
        ),
        policy=frames.Policy(
            maxPayload=MAX_PAYLOAD, maxBufferedBytes=MAX_BUFFERED_BYTES, tickIntervalMs=g.tick_interval_ms
        ),
    )
    return _json.encode(hello)
