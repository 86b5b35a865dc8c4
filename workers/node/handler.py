"""The node worker: the pairing store (devices and nodes), the node registry, node.invoke.

Front-end Ask topics: `device.authorize` (a connect's pairing decision), `node.connected`,
`node.disconnected`. Methods: device.pair.*, device.token.*, node.* (operator and node roles).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from openclaw.ipc import control
from openclaw.workers.runtime import Worker

from .devices import Devices
from .invoke import Invocations
from .pairing_store import PairingStore
from .registry import NodeRegistry

STORE_FILE = "pairing.sqlite"


class NodeWorker(Worker):
    kind = "node"
    events = (
        "node.pair.requested", "node.pair.resolved", "device.pair.requested", "device.pair.resolved", "device.pair.changed",
        "node.runnerInventory.changed", "node.invoke.request", "node.invoke.cancel",
    )

    def __init__(self, cfg: control.Configure) -> None:
        super().__init__(cfg)
        self.store: PairingStore | None = None

    async def start(self) -> None:
        self.store = PairingStore(Path(self.gateway.state_dir) / STORE_FILE)
        push = lambda event, payload: self.push(event, payload)  # noqa: E731 (bound after start)
        deliver = lambda conn_id, event, payload: self.deliver(conn_id, event, payload)  # noqa: E731
        # after the answer in hand has left: a client that closes its own device's sockets gets its reply first
        disconnect = lambda target, code, reason: asyncio.get_running_loop().call_soon(self.disconnect, target, code, reason)  # noqa: E731
        self.devices = Devices(self.store, push, lambda device_id, code, reason: disconnect(f"device:{device_id}", code, reason))
        self.registry = NodeRegistry(self.store, lambda: self.config, push, deliver, disconnect)
        self.devices.is_connected = lambda device_id: device_id in self.registry.live
        self.invocations = Invocations(self.registry, lambda: self.config, deliver)
        self.topics = {
            "device.authorize": self.devices.authorize,
            "node.connected": self.registry.connected,
            "node.disconnected": self.registry.disconnected,
        }
        d, r, i = self.devices, self.registry, self.invocations
        self.methods = {
            "device.pair.list": d.pair_list, "device.pair.approve": d.pair_approve, "device.pair.reject": d.pair_reject,
            "device.pair.remove": d.pair_remove, "device.pair.rename": d.pair_rename,
            "device.token.rotate": d.token_rotate, "device.token.revoke": d.token_revoke,
            "node.list": r.node_list, "node.describe": r.node_describe, "node.pair.list": r.pair_list,
            "node.pair.approve": r.pair_approve, "node.pair.reject": r.pair_reject, "node.pair.remove": r.pair_remove,
            "node.rename": r.rename, "node.invoke": i.invoke,
            "node.invoke.result": i.result, "node.invoke.progress": i.progress, "node.event": r.node_event,
            "node.runnerInventory.update": r.runner_inventory, "node.skills.update": r.skills_update,
            "node.pluginTools.update": r.plugin_tools_update,
        }

    async def stop(self) -> None:
        if self.store is not None:
            self.store.close()


def make_worker(cfg: control.Configure) -> NodeWorker:
    return NodeWorker(cfg)
