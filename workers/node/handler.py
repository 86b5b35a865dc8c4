"""The node worker: paired devices ("nodes") and their commands."""

from __future__ import annotations

import time
from typing import Any

from openclaw.ipc import control, envelope
from openclaw.ipc.errors import invalid_request
from openclaw.workers.runtime import Worker


class NodeWorker(Worker):
    kind = "node"
    events = ("node.pair.requested", "node.pair.resolved", "node.presence")

    def __init__(self, cfg: control.Configure) -> None:
        super().__init__(cfg)
        self.nodes: dict[str, dict[str, Any]] = {}
        self.pending_devices: list[dict[str, Any]] = []
        self.paired_devices: list[dict[str, Any]] = []
        self.methods = {
            "node.list": self.node_list,
            "node.describe": self.node_describe,
            "device.pair.list": self.device_pair_list,
        }

    def node_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        return {"ts": int(time.time() * 1000), "nodes": list(self.nodes.values())}

    def node_describe(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = params.get("nodeId")
        if not isinstance(node_id, str) or not node_id:
            raise invalid_request("invalid node.describe params: must have required property 'nodeId'")
        node = self.nodes.get(node_id)
        if node is None:
            raise invalid_request(f"unknown node: {node_id}", details={"nodeId": node_id})
        return {"ts": int(time.time() * 1000), **node}


    def device_pair_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        return {"pending": self.pending_devices, "paired": self.paired_devices}


def make_worker(cfg: control.Configure) -> NodeWorker:
    return NodeWorker(cfg)
