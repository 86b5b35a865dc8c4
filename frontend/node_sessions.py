"""The front-end's side of node connections: tell the node worker (which keeps the node registry and
pairing store) when a node socket opens and closes, and carry out what it asks for one connection:
an event for that connection only (`node.invoke.request`, `node.pair.resolved`), or a close."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from openclaw.ipc import frames
from openclaw.ipc.errors import GatewayError
from openclaw.ipc.logs import get_logger

from .caller import Connection
from .router import WorkerRouter
from .ws.hub import Hub

log = get_logger("gateway/nodes")
NOTICE_TIMEOUT_S = 5.0


class NodeSessions:
    def __init__(self, router: WorkerRouter, hub: Hub) -> None:
        self.router = router
        self.hub = hub
        self.tasks: set[asyncio.Task[None]] = set()
        router.on_deliver = self.deliver
        router.on_disconnect = self.disconnect

    def connected(self, conn: Connection, params: frames.ConnectParams | None) -> None:
        c = params.client if params is not None else None
        notice: dict[str, Any] = {
            "connId": conn.conn_id, "nodeId": conn.principal.device_id, "remoteIp": conn.peer,
            "client": {
                "id": c.id, "mode": c.mode, "displayName": c.displayName, "platform": c.platform, "version": c.version,
                "deviceFamily": c.deviceFamily, "modelIdentifier": c.modelIdentifier, "instanceId": c.instanceId,
            } if c is not None else {},
            "caps": list(params.caps or []) if params else [],
            "commands": list(params.commands or []) if params else [],
            "permissions": dict(params.permissions or {}) if params else {},
            "pathEnv": params.pathEnv if params and isinstance(params.pathEnv, str) else None,
        }
        self._notify("node.connected", notice)

    def disconnected(self, conn: Connection) -> None:
        self._notify("node.disconnected", {"connId": conn.conn_id, "nodeId": conn.principal.device_id})

    def _notify(self, topic: str, body: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._ask(topic, body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _ask(self, topic: str, body: dict[str, Any]) -> None:
        try:
            await self.router.ask(topic, msgspec.json.encode(body), NOTICE_TIMEOUT_S)
        except GatewayError as exc:
            log.warn("node worker did not take a node notice", topic=topic, error=exc.message)

    def deliver(self, conn_id: str, event: str, payload: bytes) -> None:
        conn = self.hub.by_id(conn_id)
        if conn is not None:
            conn.send_raw(frames.event_targeted(event, payload))

    def disconnect(self, target: str, code: int, reason: str) -> None:
        """`target` is a connection id, or `device:<deviceId>` for every socket of that device."""
        if target.startswith("device:"):
            device_id = target.removeprefix("device:")
            for conn in [c for c in self.hub.connections if c.principal.device_id == device_id]:
                conn.close_soon(code, reason)
            return
        conn = self.hub.by_id(target)
        if conn is not None:
            conn.close_soon(code, reason)
