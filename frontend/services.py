"""The front-end's parts, built once at boot and handed to sessions and local methods.

Each part is its own module and knows only the parts it is given; this module wires them:
worker changes refresh the health snapshot and the advertised features, worker pushes and
presence changes become broadcasts, a rotated secret closes the connections that used it.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import msgspec
import zmq

from openclaw.ipc import control
from openclaw.ipc.child_link import SupervisorLink
from openclaw.ipc.logs import get_logger
from openclaw.ipc.transport import endpoint
from openclaw.ipc.version import BUILD_ID, COMPAT_VERSION

from .auth.client_address import parse_trusted
from .auth.rate_limit import AuthRateLimiter, Limits
from .health_state import HealthState
from .node_sessions import NodeSessions
from .loop_monitor import LoopMonitor
from .presence import PresenceRegistry
from .router import WorkerRouter
from .settings import Settings
from .supervisor_client import SupervisorClient
from .tree_view import RUNNING, TreeView
from .worker_requests import WorkerRequests
from .ws.hub import Hub

BASE_EVENTS = ["connect.challenge", "tick", "health", "presence", "shutdown", "config.changed"]


class Services:
    def __init__(self, ctx: zmq.Context, link: SupervisorLink, cfg: control.Configure, local_methods: list[str]) -> None:
        self.settings = Settings(cfg)
        self.version = COMPAT_VERSION  # what clients compare with theirs
        self.build_id = BUILD_ID
        self.log = get_logger("gateway")
        self.started_mono = time.monotonic()
        self.instance_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"openclaw-gateway:{os.uname().nodename}:{cfg.gateway.state_dir}")
        )
        self.draining = False
        self.local_methods = local_methods
        self.hub = Hub(self.settings)
        self.loop_monitor = LoopMonitor()
        self.tree = TreeView()
        self.router = WorkerRouter(ctx, endpoint(cfg.runtime_dir, "workers.sock"), cfg.supervisor_pid)
        self.presence = PresenceRegistry(
            self.version, self.instance_id, lambda payload: self.hub.broadcast("presence", payload, self.state_version())
        )
        self.health = HealthState(
            self.settings, self.router, self.tree, self.loop_monitor,
            lambda payload: self.hub.broadcast("health", payload, self.state_version()),
        )
        self.supervisor = SupervisorClient(link)
        self.nodes = NodeSessions(self.router, self.hub)
        self.worker_requests = WorkerRequests(self.router)
        self.auth_limiter = AuthRateLimiter(Limits.from_config(self.settings.value("gateway.auth.rateLimit")))
        self.trusted_proxies = parse_trusted(self.settings.value("gateway.trustedProxies"))
        self._features: bytes | None = None
        self.router.on_change = self._workers_changed
        self.router.on_push = lambda event, payload: self.hub.broadcast(event, payload)
        self.router.on_publish = self.hub.publish
        self.router.on_subscribe = self.hub.subscribe
        self.tree.on_change.append(self.health.changed)
        self.tree.on_change.append(lambda: self.router.keep_slots({p.name for p in self.tree.children}))
        self.settings.on_change.append(self._config_applied)
        link.on(control.TreeState, self.tree.update)
        link.on(control.PeerLost, lambda msg: self.router.lost(msg.instance, msg.reason))
        link.on(control.ApplyConfig, self.settings.apply)

    def start(self) -> None:
        self.router.start()
        self.loop_monitor.start()
        self.health.start()
        self.hub.start_ticks()

    def close(self) -> None:
        self.health.stop()
        self.loop_monitor.stop()
        self.hub.stop_ticks()
        self.router.close()

    async def workers_registered(self, timeout_s: float) -> bool:
        """Wait until every worker the supervisor runs has registered with this front-end. A new
        front-end beside running workers waits here before it accepts, so a client that reconnects
        finds every method routed (connections queue meanwhile; none is refused)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if self.tree.state is not None:
                running = {p.name for p in self.tree.children if p.role == "worker" and p.state in RUNNING}
                if running <= set(self.router.active):
                    return True
            await asyncio.sleep(0.01)
        return False

    def state_version(self) -> dict[str, int]:
        return {"presence": self.presence.version, "health": self.health.version}

    def uptime_ms(self) -> int:
        return int((time.monotonic() - self.started_mono) * 1000)

    def features(self) -> bytes:
        """hello-ok `features`: methods and events this gateway serves now (cached)."""
        if self._features is None:
            methods = sorted(set(self.local_methods) | set(self.router.methods()))
            events = list(BASE_EVENTS)
            events += [e for e in self.router.events() if e not in events]
            self._features = msgspec.json.encode({"methods": methods, "events": events})
        return self._features

    def _workers_changed(self) -> None:
        self._features = None
        self.health.changed()

    def _config_applied(self, msg: control.ApplyConfig) -> None:
        self.log.info("config applied", paths=msg.paths[:20])
        self.auth_limiter.limits = Limits.from_config(self.settings.value("gateway.auth.rateLimit"))
        self.trusted_proxies = parse_trusted(self.settings.value("gateway.trustedProxies"))
        if msg.rotate_credentials:
            closed = self.hub.close_rotated(self.settings.current_secret_digest())
            self.log.info("credentials rotated", closed_connections=closed)
        self.health.changed()
