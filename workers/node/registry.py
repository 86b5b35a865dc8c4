"""Nodes: which are known (pairing store), which are connected now, what each declared, and the
command-surface approvals (nodes spec §5.1-5.4).

A node's device is paired at connect (devices.py); its declared command surface, filtered by the
platform allowlist (command_policy.py), needs an operator's `node.pair.approve` the first time and
whenever it grows. Until then `node.invoke` answers UNAVAILABLE PAIRING_CHANGED.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openclaw.ipc import envelope, scopes
from openclaw.ipc.errors import ErrorCode, GatewayError, invalid_request, unavailable
from openclaw.ipc.logs import get_logger

from . import command_policy
from .pairing_store import PairingStore, now_ms

log = get_logger("worker/node")
MAX_LIST = 512  # entries kept from a node's declared lists
MAX_NAME = 256


@dataclass
class Live:
    conn_id: str
    connected_ms: int
    platform: str
    caps: list[str]
    declared: list[str]  # declared commands after the pairing filter
    permissions: dict[str, bool]
    stats: dict[str, Any] = field(default_factory=dict)
    skills: list[Any] = field(default_factory=list)
    tools: list[Any] = field(default_factory=list)


def _strings(value: Any, limit: int = MAX_LIST) -> list[str]:
    return sorted({v[:MAX_NAME] for v in value if isinstance(v, str)})[:limit] if isinstance(value, list) else []


def _node_id_param(params: dict[str, Any], method: str) -> str:
    node_id = params.get("nodeId")
    if not isinstance(node_id, str) or not node_id:
        raise invalid_request(f"invalid {method} params: must have required property 'nodeId'")
    return node_id


def awaiting_approval(request_id: str | None) -> GatewayError:
    return unavailable(
        "node capability surface is awaiting operator approval; run `openclaw nodes approve "
        f"{request_id or '<requestId>'}` (see `openclaw nodes pending`), then this node retries automatically",
        retry_after_ms=2000, details={"code": "PAIRING_PENDING", "requestId": request_id},
    )


class NodeRegistry:
    def __init__(
        self, store: PairingStore, config: Callable[[], dict[str, Any]], push: Callable[[str, Any], None],
        deliver: Callable[[str, str, Any], None], disconnect: Callable[[str, int, str], None],
    ) -> None:
        self.store = store
        self.config = config
        self.push = push
        self.deliver = deliver
        self.disconnect = disconnect
        self.live: dict[str, Live] = {}
        self.by_conn: dict[str, str] = {}
        self.on_gone: Callable[[str, str], None] = lambda node_id, why: None  # fail its invocations

    # ------------------------------------------------------------------ sockets (front-end notices)

    def connected(self, notice: dict[str, Any]) -> dict[str, Any]:
        node_id, conn_id = notice.get("nodeId"), notice.get("connId")
        if not isinstance(node_id, str) or not isinstance(conn_id, str):
            raise invalid_request("node.connected needs nodeId and connId")
        c = notice.get("client") or {}
        caps = _strings(notice.get("caps"))
        platform = command_policy.platform_of(c.get("platform"), c.get("deviceFamily"))
        declared = command_policy.pairing_filter(platform, caps, _strings(notice.get("commands")), self.config())
        permissions = {k[:MAX_NAME]: bool(v) for k, v in list((notice.get("permissions") or {}).items())[:MAX_LIST]}
        body = {
            "displayName": (c.get("displayName") or "")[:MAX_NAME] or None, "platform": c.get("platform"),
            "version": c.get("version"), "clientId": c.get("id"), "clientMode": c.get("mode"),
            "deviceFamily": c.get("deviceFamily"), "modelIdentifier": c.get("modelIdentifier"), "permissions": permissions,
            "pathEnv": notice.get("pathEnv") if isinstance(notice.get("pathEnv"), str) else None,
            "remoteIp": notice.get("remoteIp") if isinstance(notice.get("remoteIp"), str) else None,
        }
        previous = self.live.get(node_id)
        if previous is not None and previous.conn_id != conn_id:
            self.by_conn.pop(previous.conn_id, None)
            self.disconnect(previous.conn_id, 1008, "replaced by a newer connection of this node")
            self.on_gone(node_id, "replaced")
        self.store.upsert_node(node_id, body, connected=True, reason="connect")
        self.live[node_id] = Live(conn_id, now_ms(), platform, caps, declared, permissions)
        self.by_conn[conn_id] = node_id
        row = self.store.node(node_id)
        assert row is not None
        if not self._covers(row, caps, declared):
            self._request_approval(node_id, body, caps, declared)
        log.info("node connected", node=node_id[:12], platform=platform, declared=len(declared))
        return {"ok": True}

    def disconnected(self, notice: dict[str, Any]) -> dict[str, Any]:
        node_id = self.by_conn.pop(str(notice.get("connId")), None)
        if node_id is not None and node_id in self.live and self.live[node_id].conn_id == notice.get("connId"):
            del self.live[node_id]
            self.store.node_seen(node_id, "disconnect")
            self.on_gone(node_id, "disconnected")
            log.info("node disconnected", node=node_id[:12])
        return {"ok": True}

    def node_of(self, caller: envelope.CallerInfo) -> str:
        node_id = self.by_conn.get(caller.conn_id)
        if node_id is None:
            raise unavailable("node session unknown; reconnect", retry_after_ms=1000, details={"code": "NODE_SESSION_UNKNOWN"})
        return node_id

    @staticmethod
    def _covers(row: sqlite3.Row, caps: list[str], declared: list[str]) -> bool:
        if row["approved_ms"] is None:
            return False
        return set(declared) <= set(json.loads(row["commands"])) and set(caps) <= set(json.loads(row["caps"]))

    def _request_approval(self, node_id: str, body: dict[str, Any], caps: list[str], declared: list[str]) -> None:
        existing = self.store.pending_for("node", node_id)
        if existing is not None:
            old = json.loads(existing["body"])
            if old.get("caps") == caps and old.get("commands") == declared:
                return
            self.store.drop_request(existing["request_id"])
        request_id = str(uuid.uuid4())
        pending = {**body, "nodeId": node_id, "caps": caps, "commands": declared,
                   "requiredApproveScopes": command_policy.required_approve_scopes(declared)}
        self.store.add_request(request_id, "node", node_id, "node", pending)
        self.push("node.pair.requested", self._pending_view(request_id, pending, now_ms()))
        log.info("node surface awaiting approval", node=node_id[:12], request=request_id, commands=len(declared))

    # ------------------------------------------------------------------ views

    @staticmethod
    def _pending_view(request_id: str, body: dict[str, Any], ts: int) -> dict[str, Any]:
        return {
            "requestId": request_id, "nodeId": body["nodeId"], "clientId": body.get("clientId"),
            "clientMode": body.get("clientMode"), "displayName": body.get("displayName"), "platform": body.get("platform"),
            "version": body.get("version"), "deviceFamily": body.get("deviceFamily"), "caps": body.get("caps") or [],
            "commands": body.get("commands") or [], "requiredApproveScopes": body.get("requiredApproveScopes") or [],
            "permissions": body.get("permissions") or {}, "silent": True, "ts": ts,
        }

    def _record(self, row: sqlite3.Row) -> dict[str, Any]:
        body = json.loads(row["body"])
        return {
            "nodeId": row["node_id"], "clientId": body.get("clientId"), "clientMode": body.get("clientMode"),
            "displayName": body.get("displayName"), "platform": body.get("platform"), "version": body.get("version"),
            "deviceFamily": body.get("deviceFamily"), "caps": json.loads(row["caps"]), "commands": json.loads(row["commands"]),
            "permissions": body.get("permissions") or {}, "createdAtMs": row["created_ms"], "approvedAtMs": row["approved_ms"],
            "lastSeenAtMs": row["last_seen_ms"], "lastSeenReason": row["last_seen_reason"],
        }

    def describe(self, row: sqlite3.Row) -> dict[str, Any]:
        node_id = row["node_id"]
        body = json.loads(row["body"])
        live = self.live.get(node_id)
        approved = row["approved_ms"] is not None
        out: dict[str, Any] = {
            "nodeId": node_id, "displayName": body.get("displayName"), "platform": body.get("platform"),
            "version": body.get("version"), "clientId": body.get("clientId"), "clientMode": body.get("clientMode"),
            "deviceFamily": body.get("deviceFamily"), "modelIdentifier": body.get("modelIdentifier"),
            "caps": json.loads(row["caps"]) if approved else [],
            "commands": sorted(set(json.loads(row["commands"])) & set(live.declared)) if approved and live else
            (json.loads(row["commands"]) if approved else []),
            "sessionHost": False, "nodePluginTools": [], "permissions": body.get("permissions") or {},
            "approvalState": "approved" if approved else "pending-approval",
            "lastConnectedAtMs": row["last_connected_ms"], "lastSeenAtMs": row["last_seen_ms"],
            "lastSeenReason": row["last_seen_reason"], "approvedAtMs": row["approved_ms"], "paired": True,
            "connected": live is not None,
        }
        if body.get("pathEnv"):
            out["pathEnv"] = body["pathEnv"]
        if body.get("remoteIp"):
            out["remoteIp"] = body["remoteIp"]
        if live is not None:
            out["connectedAtMs"] = live.connected_ms
            if live.stats:
                out["hostStats"] = live.stats
        pending = self.store.pending_for("node", node_id)
        if pending is not None:
            p = json.loads(pending["body"])
            out["pendingRequestId"] = pending["request_id"]
            out["pendingDeclaredCaps"] = p.get("caps") or []
            out["pendingDeclaredCommands"] = p.get("commands") or []
            out["pendingDeclaredPermissions"] = p.get("permissions") or {}
        return out

    # ------------------------------------------------------------------ operator methods

    def node_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        return {"ts": now_ms(), "nodes": [self.describe(r) for r in self.store.nodes()]}

    def node_describe(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = _node_id_param(params, "node.describe")
        row = self.store.node(node_id)
        if row is None:
            raise invalid_request(f"unknown node: {node_id}", details={"nodeId": node_id})
        return {"ts": now_ms(), **self.describe(row)}

    def pair_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        pending = [self._pending_view(r["request_id"], json.loads(r["body"]), r["created_ms"]) for r in self.store.requests("node")]
        paired = [self._record(r) for r in self.store.nodes() if r["approved_ms"] is not None]
        return {"pending": pending, "paired": paired}

    def _request_param(self, params: dict[str, Any], method: str) -> tuple[str, sqlite3.Row]:
        request_id = params.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise invalid_request(f"invalid {method} params: must have required property 'requestId'")
        row = self.store.request(request_id)
        if row is None or row["kind"] != "node":
            raise invalid_request("unknown requestId", details={"requestId": request_id})
        return request_id, row

    def pair_approve(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        request_id, row = self._request_param(params, "node.pair.approve")
        body = json.loads(row["body"])
        for needed in body.get("requiredApproveScopes") or []:
            if not scopes.satisfies(caller.scopes, needed):
                raise GatewayError(ErrorCode.FORBIDDEN, f"missing scope: {needed}", details={
                    "code": "MISSING_SCOPE", "missingScope": needed, "requiredScopes": body.get("requiredApproveScopes")})
        node_id = row["device_id"]
        self.store.approve_node(node_id, body.get("caps") or [], body.get("commands") or [], request_id)
        resolved = {"requestId": request_id, "nodeId": node_id, "decision": "approved", "ts": now_ms()}
        self.push("node.pair.resolved", resolved)
        self.push("node.runnerInventory.changed", {"nodeId": node_id})
        live = self.live.get(node_id)
        if live is not None:
            self.deliver(live.conn_id, "node.pair.resolved", resolved)
        log.info("node surface approved", node=node_id[:12], request=request_id)
        node = self.store.node(node_id)
        return {"requestId": request_id, "node": self._record(node) if node is not None else {"nodeId": node_id}}

    def pair_reject(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        request_id, row = self._request_param(params, "node.pair.reject")
        self.store.drop_request(request_id)
        resolved = {"requestId": request_id, "nodeId": row["device_id"], "decision": "rejected", "ts": now_ms()}
        self.push("node.pair.resolved", resolved)
        live = self.live.get(row["device_id"])
        if live is not None:
            self.deliver(live.conn_id, "node.pair.resolved", resolved)
        return {"requestId": request_id, "nodeId": row["device_id"]}

    def pair_remove(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = _node_id_param(params, "node.pair.remove")
        if self.store.node(node_id) is None and self.store.device(node_id) is None:
            raise invalid_request(f"unknown node: {node_id}", details={"nodeId": node_id})
        self.store.remove_device(node_id)
        self.push("node.pair.resolved", {"requestId": "", "nodeId": node_id, "decision": "removed", "ts": now_ms()})
        self.on_gone(node_id, "removed")
        self.disconnect(f"device:{node_id}", 4001, "device removed")
        return {"nodeId": node_id}

    def rename(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = _node_id_param(params, "node.rename")
        name = params.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise invalid_request("invalid node.rename params: must have required property 'displayName'")
        if not self.store.rename_node(node_id, name.strip()[:MAX_NAME]):
            raise invalid_request(f"unknown node: {node_id}", details={"nodeId": node_id})
        return {"nodeId": node_id, "displayName": name.strip()[:MAX_NAME]}

    # ------------------------------------------------------------------ node methods (role node)

    def _require_approved(self, node_id: str) -> None:
        row = self.store.node(node_id)
        live = self.live.get(node_id)
        if row is None or live is None or not self._covers(row, live.caps, live.declared):
            pending = self.store.pending_for("node", node_id)
            raise awaiting_approval(pending["request_id"] if pending is not None else None)

    def node_event(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = self.node_of(caller)
        event = params.get("event")
        if not isinstance(event, str) or not event:
            raise invalid_request("invalid node.event params: must have required property 'event'")
        payload = params.get("payload")
        if payload is None and isinstance(params.get("payloadJSON"), str):
            try:
                payload = json.loads(params["payloadJSON"])
            except ValueError:
                raise invalid_request("invalid node.event params: payloadJSON is not JSON") from None
        if event == "node.presence.alive":
            reason = payload.get("reason") if isinstance(payload, dict) and isinstance(payload.get("reason"), str) else "background"
            self.store.node_seen(node_id, reason[:64])
            return {"ok": True, "event": event, "handled": True, "reason": "persisted"}
        if event == "node.host.stats":
            row = self.store.node(node_id)
            if row is None or row["approved_ms"] is None:
                raise unavailable("node pairing changed while invocation was active", details={"code": "PAIRING_CHANGED"})
            live = self.live.get(node_id)
            if live is not None and isinstance(payload, dict):
                live.stats = {k: v for k, v in list(payload.items())[:16] if isinstance(v, (int, float, list))}
                live.stats["updatedAtMs"] = now_ms()
            return {"ok": True, "event": event, "handled": True, "reason": "stored"}
        if event == "voice.transcript":
            return {"ok": True}
        if event == "exec.finished":
            return {"ok": True, "event": event, "handled": False, "reason": "unmatched_exec_event"}
        return {"ok": True, "event": event, "handled": False, "reason": "unsupported_event"}

    def runner_inventory(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = self.node_of(caller)
        self._require_approved(node_id)
        return {"nodeId": node_id}

    def skills_update(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = self.node_of(caller)
        skills = params.get("skills") if isinstance(params.get("skills"), list) else []
        live = self.live.get(node_id)
        if live is not None:
            live.skills = skills[:MAX_LIST]
        return {"nodeId": node_id, "skills": skills[:MAX_LIST]}

    def plugin_tools_update(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = self.node_of(caller)
        tools = params.get("tools") if isinstance(params.get("tools"), list) else []
        live = self.live.get(node_id)
        if live is not None:
            live.tools = tools[:MAX_LIST]
        return {"nodeId": node_id, "tools": tools[:MAX_LIST]}
