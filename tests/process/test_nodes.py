"""Nodes (nodes spec §5): a node connects with role node and a signed device, its command surface
waits for an operator's approval, node.invoke goes to the node and its answer comes back, with the
allowlist, timeouts and a node that goes away mid-invocation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ..device_identity import DeviceIdentity
from ..harness import Gateway, Home, running_gateway
from ..wsclient import Client, connect_params, open_client

COMMANDS = ["system.which", "system.notify", "demo.echo", "camera.snap"]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(Home(tmp_path_factory.mktemp("nodes"))) as gw:
        yield gw


def node_connect(gw: Gateway, dev: DeviceIdentity | None = None, commands: list[str] = COMMANDS, **kw: Any) -> tuple[Client, dict[str, Any]]:
    dev = dev or DeviceIdentity()
    c = Client(gw.url)
    params = connect_params(client_id="node-host", mode="node", scopes=[], role="node",
                            caps=["system", "notify"], commands=commands, permissions={"notifications": True}, **kw)
    params["client"].update(displayName="research-node", deviceFamily="Linux")
    return c, c.call("connect", dev.sign(params, c.nonce))


def approve_pending(op: Client, node_id: str) -> dict[str, Any]:
    pending = [p for p in op.call("node.pair.list")["payload"]["pending"] if p["nodeId"] == node_id]
    assert len(pending) == 1, pending
    return op.call("node.pair.approve", {"requestId": pending[0]["requestId"]})


def invoke(op: Client, node_id: str, command: str, key: str, params: Any = None, timeout_ms: int = 5000) -> Any:
    return op.request("node.invoke", {"nodeId": node_id, "command": command, "params": params,
                                      "timeoutMs": timeout_ms, "idempotencyKey": key})


def test_node_without_a_device_is_refused(gw: Gateway) -> None:
    c = Client(gw.url)
    res = c.call("connect", connect_params(client_id="node-host", mode="node", role="node", scopes=[]))
    assert res["error"]["code"] == "NOT_PAIRED" and res["error"]["details"]["code"] == "DEVICE_IDENTITY_REQUIRED"
    assert c.close_code() == 1008


def test_pairing_then_invoke_round_trip(gw: Gateway) -> None:
    op = open_client(gw.url, scopes=["operator.admin"])
    dev = DeviceIdentity()
    node, hello = node_connect(gw, dev)
    try:
        assert hello["ok"] is True, hello
        auth = hello["payload"]["auth"]
        assert auth["role"] == "node" and auth["scopes"] == [] and len(auth["deviceToken"]) == 43
        requested = op.next_event("node.pair.requested")["payload"]
        assert requested["nodeId"] == dev.device_id
        assert requested["commands"] == ["system.notify", "system.which"]  # demo.echo unknown, camera.snap dangerous
        assert requested["requiredApproveScopes"] == ["operator.pairing", "operator.admin"]

        listed = op.call("node.list")["payload"]["nodes"]
        mine = [n for n in listed if n["nodeId"] == dev.device_id][0]
        assert mine["approvalState"] == "pending-approval" and mine["connected"] is True and mine["commands"] == []
        assert mine["pendingDeclaredCommands"] == ["system.notify", "system.which"]

        early = op.response(invoke(op, dev.device_id, "system.which", "inv-early", {"bins": ["ls"]}))
        assert early["error"]["code"] == "UNAVAILABLE" and early["error"]["details"]["code"] == "PAIRING_CHANGED"
        assert early["error"]["retryable"] is True
        early_inventory = node.call("node.runnerInventory.update", {"protocolFeatures": []})
        assert "awaiting operator approval" in early_inventory["error"]["message"]

        # a write-only operator may not approve a surface with system.which
        writer = open_client(gw.url, scopes=["operator.pairing", "operator.write"])
        try:
            pending = writer.call("node.pair.list")["payload"]["pending"]
            rid = [p for p in pending if p["nodeId"] == dev.device_id][0]["requestId"]
            denied = writer.call("node.pair.approve", {"requestId": rid})
            assert denied["error"]["code"] == "FORBIDDEN" and denied["error"]["details"]["missingScope"] == "operator.admin"
        finally:
            writer.close()

        approved = approve_pending(op, dev.device_id)
        assert approved["ok"] is True, approved
        assert approved["payload"]["node"]["commands"] == ["system.notify", "system.which"]
        assert node.next_event("node.pair.resolved")["payload"]["decision"] == "approved"
        assert node.call("node.runnerInventory.update", {"protocolFeatures": []})["payload"] == {"nodeId": dev.device_id}

        rid = invoke(op, dev.device_id, "system.which", "inv-1", {"bins": ["ls"]})
        req = node.next_event("node.invoke.request")
        assert "seq" not in req
        p = req["payload"]
        assert p["command"] == "system.which" and json.loads(p["paramsJSON"]) == {"bins": ["ls"]}
        assert p["idempotencyKey"] == "inv-1" and 0 < p["timeoutMs"] <= 5000
        ack = node.call("node.invoke.result", {"id": p["id"], "nodeId": dev.device_id, "ok": True,
                                               "payloadJSON": json.dumps({"bins": {"ls": "/usr/bin/ls"}})})
        assert ack["payload"] == {"ok": True}
        res = op.response(rid)
        assert res["ok"] is True, res
        assert res["payload"]["payload"] == {"bins": {"ls": "/usr/bin/ls"}} and res["payload"]["command"] == "system.which"

        # the same idempotency key: the first outcome, the node is not asked again
        again = op.response(invoke(op, dev.device_id, "system.which", "inv-1", {"bins": ["ls"]}))
        assert again["payload"] == res["payload"]

        not_allowed = op.response(invoke(op, dev.device_id, "demo.echo", "inv-2"))
        assert not_allowed["error"]["code"] == "INVALID_REQUEST"
        assert not_allowed["error"]["message"] == 'node command not allowed: "demo.echo" is not in the allowlist for platform "linux"'
        dangerous = op.response(invoke(op, dev.device_id, "camera.snap", "inv-3"))
        assert "requires explicit gateway.nodes.commands.allow" in dangerous["error"]["message"]

        # a node error is passed on
        rid = invoke(op, dev.device_id, "system.notify", "inv-4", {"title": "x"})
        p = node.next_event("node.invoke.request")["payload"]
        node.call("node.invoke.result", {"id": p["id"], "nodeId": dev.device_id, "ok": False,
                                         "error": {"code": "UNAVAILABLE", "message": "no notifier"}})
        failed = op.response(rid)
        assert failed["error"]["message"] == "UNAVAILABLE: no notifier"
        assert failed["error"]["details"]["nodeError"] == {"code": "UNAVAILABLE", "message": "no notifier"}

        # no answer in time: the node is told to cancel, the operator gets TIMEOUT
        rid = invoke(op, dev.device_id, "system.notify", "inv-5", timeout_ms=300)
        p = node.next_event("node.invoke.request")["payload"]
        cancel = node.next_event("node.invoke.cancel")["payload"]
        assert cancel == {"invokeId": p["id"], "nodeId": dev.device_id}
        timed_out = op.response(rid)
        assert timed_out["error"]["details"]["nodeError"]["code"] == "TIMEOUT"

        # an operator may not speak for a node, a node may not act as an operator
        assert op.call("node.invoke.result", {"id": "x"})["error"]["message"] == "unauthorized role: operator"
        assert node.call("status")["error"]["message"] == "unauthorized role: node"
        assert node.call("health")["ok"] is True

        # the node goes away mid-invocation: answered at once, retryable
        rid = invoke(op, dev.device_id, "system.notify", "inv-6", timeout_ms=30_000)
        node.next_event("node.invoke.request")
        node.close()
        gone = op.response(rid, timeout=5)
        assert gone["error"]["code"] == "UNAVAILABLE" and gone["error"]["retryable"] is True
        listed = op.call("node.describe", {"nodeId": dev.device_id})["payload"]
        assert listed["connected"] is False and listed["approvalState"] == "approved"
        not_connected = op.response(invoke(op, dev.device_id, "system.notify", "inv-7"))
        assert not_connected["error"].get("details", {}).get("code") == "NOT_CONNECTED", not_connected

        # the same key reconnecting is approved at once
        node, hello = node_connect(gw, dev)
        assert hello["ok"] is True
        assert op.call("node.describe", {"nodeId": dev.device_id})["payload"]["approvalState"] == "approved"
        assert not [p for p in op.call("node.pair.list")["payload"]["pending"] if p["nodeId"] == dev.device_id]

        # removal closes the node 4001
        assert op.call("node.pair.remove", {"nodeId": dev.device_id})["payload"] == {"nodeId": dev.device_id}
        assert node.close_code() == 4001
        assert not [n for n in op.call("node.list")["payload"]["nodes"] if n["nodeId"] == dev.device_id]
    finally:
        node.close()
        op.close()


def test_node_events(gw: Gateway) -> None:
    dev = DeviceIdentity()
    node, hello = node_connect(gw, dev, commands=["system.notify"])
    try:
        assert hello["ok"] is True
        alive = node.call("node.event", {"event": "node.presence.alive", "payload": {"reason": "background"}})
        assert alive["payload"] == {"ok": True, "event": "node.presence.alive", "handled": True, "reason": "persisted"}
        other = node.call("node.event", {"event": "custom.thing", "payloadJSON": "{}"})
        assert other["payload"]["reason"] == "unsupported_event"
        bad = node.call("node.event", {"event": "x", "payloadJSON": "{not json"})
        assert bad["error"]["code"] == "INVALID_REQUEST"
    finally:
        node.close()
