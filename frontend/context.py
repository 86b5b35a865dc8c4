"""The front-end's shared state: configuration, connections, workers, caches."""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc import control, envelope, frames, scopes
from openclaw.ipc.child_link import SupervisorLink
from openclaw.ipc.logs import get_logger
from openclaw.ipc.version import GATEWAY_VERSION

from .loop_monitor import LoopMonitor
from .methods import LOCAL_METHODS
from .methods.health import HealthCache
from .methods.presence import PresenceRegistry
from .router import WorkerRouter
from .supervisor_client import SupervisorClient
from .ws.dispatch import Dispatcher
from .ws.hub import Hub
from .ws.session import MAX_BUFFERED_BYTES, MAX_PAYLOAD

if TYPE_CHECKING:
    import zmq.asyncio

    from .ws.session import Session

BASE_EVENTS = ["connect.challenge", "tick", "health", "presence", "shutdown"]


class Frontend:
    def __init__(self, ctx: zmq.asyncio.Context, link: SupervisorLink, cfg: control.Configure) -> None:
        self.cfg = cfg
        self.gateway = cfg.gateway
        self.version = GATEWAY_VERSION
        self.log = get_logger("gateway")
        self.started_mono = time.monotonic()
        self.instance_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"openclaw-gateway:{os.uname().nodename}:{self.gateway.state_dir}"))
        self.draining = False
        self.drain_request: control.Drain | None = None
        self.hub = Hub(self.gateway.tick_interval_ms)
        self.loop_monitor = LoopMonitor()
        self.router = WorkerRouter(
            ctx,
            f"ipc://{cfg.runtime_dir}/workers.sock",
            cfg.workers,
            on_change=self._workers_changed,
            on_push=self._worker_push,
        )
        self.health = HealthCache(self)
        self.presence = PresenceRegistry(self)
        self.dispatcher = Dispatcher(self)
        self.supervisor = SupervisorClient(link, on_drain=self._on_drain, on_peer_exited=self._on_peer_exited)
        self.drain_callbacks: list[Any] = []
        self._policy = msgspec.json.encode(
            {
                "maxPayload": MAX_PAYLOAD,
                "maxBufferedBytes": MAX_BUFFERED_BYTES,
                "tickIntervalMs": self.gateway.tick_interval_ms,
            }
        )
        self._features: bytes | None = None

    def start(self) -> None:
        self.router.start()
        self.loop_monitor.start()
        self.health.start()
        self.hub.start_ticks()

    # ------------------------------------------------------------------ state

    def state_version(self) -> dict[str, int]:
        return {"presence": self.presence.version, "health": self.health.version}

    def _workers_changed(self) -> None:
        self._features = None
        self.health.changed()

    def _worker_push(self, push: envelope.Push) -> None:
        self.hub.broadcast(push.event, push.payload)

    def _on_peer_exited(self, msg: control.PeerExited) -> None:
        self.router.worker_lost(msg.name)

    def _on_drain(self, msg: control.Drain) -> None:
        self.drain_request = msg
        for cb in self.drain_callbacks:
            cb()

    # ------------------------------------------------------------------ hello-ok

    def features(self) -> bytes:
        if self._features is None:
            methods = sorted(set(LOCAL_METHODS) | set(self.router.methods()))
            events = list(BASE_EVENTS)
            events += [e for e in self.router.events() if e not in events]
            self._features = msgspec.json.encode({"methods": methods, "events": events})
        return self._features

    def hello_payload(self, session: Session, protocol: int) -> bytes:
        g = self.gateway
        server = {"version": self.version, "bootId": self.cfg.boot_id, "connId": session.conn_id}
        auth: dict[str, Any] = {"method": session.auth_method, "role": session.role, "scopes": session.scopes}
        uptime = int((time.monotonic() - self.started_mono) * 1000)
        snap = (
            b'{"presence":' + self.presence.encoded()
            + b',"health":' + self.health.payload
            + b',"stateVersion":' + msgspec.json.encode(self.state_version())
            + b',"uptimeMs":' + str(uptime).encode()
            + b',"sessionDefaults":{"defaultAgentId":"main","mainKey":"main","mainSessionKey":"agent:main:main","scope":"per-sender"}'
        )
        if scopes.ADMIN in session.scopes:
            snap += (
                b',"configPath":' + msgspec.json.encode(g.config_path)
                + b',"stateDir":' + msgspec.json.encode(g.state_dir)
                + b',"authMode":' + msgspec.json.encode(g.auth_mode)
            )
        snap += b"}"
        return (
            b'{"type":"hello-ok","protocol":' + str(protocol).encode()
            + b',"server":' + msgspec.json.encode(server)
            + b',"features":' + self.features()
            + b',"snapshot":' + snap
            + b',"auth":' + msgspec.json.encode(auth)
            + b',"policy":' + self._policy
            + b"}"
        )

    def on_connected(self, session: Session) -> None:
        session.send_event(frames.event_prefix("health", self.health.payload, self.state_version()))
        self.presence.client_connected(session)

    def on_disconnected(self, session: Session) -> None:
        self.hub.remove(session)
        self.presence.client_disconnected(session)
