"""`node.invoke`: an operator's command to one connected node, and the node's answer (nodes spec §5.3).

    operator node.invoke -> checks (paired + approved, connected, allowlist) -> event
    node.invoke.request {id, nodeId, command, paramsJSON, timeoutMs, idempotencyKey} to that node ->
    node's node.invoke.result {id, nodeId, ok, payload|payloadJSON, error} -> the operator's res.
    No answer within timeoutMs: node.invoke.cancel to the node, UNAVAILABLE TIMEOUT to the operator.
    The node goes away mid-invocation: UNAVAILABLE (retryable) at once.
A repeated idempotencyKey (same node) within 5 minutes gets the first call's outcome, in flight or done.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openclaw.ipc import envelope, node_invoke
from openclaw.ipc.errors import GatewayError, invalid_request, unavailable

from . import command_policy
from .registry import NodeRegistry

DEDUPE_TTL_S = 300.0
DEDUPE_MAX = 1000
MAX_PENDING_PER_NODE = 64
MAX_PARAMS_JSON = 1_048_576


@dataclass
class _Pending:
    node_id: str
    conn_id: str
    command: str
    future: asyncio.Future[dict[str, Any]]


def _pairing_changed() -> GatewayError:
    return unavailable("node pairing changed while invocation was active", retry_after_ms=1000, details={"code": "PAIRING_CHANGED"})


def _node_error(node_code: str, message: str, dispatched: bool, **extra: Any) -> GatewayError:
    return unavailable(f"{node_code}: {message}" if dispatched else message, retry_after_ms=1000,
                       details={**extra, "nodeError": {"code": node_code, "message": message}, "nodeCommandDispatched": dispatched})


class Invocations:
    def __init__(self, registry: NodeRegistry, config: Callable[[], dict[str, Any]], deliver: Callable[[str, str, Any], None]) -> None:
        self.registry = registry
        self.config = config
        self.deliver = deliver
        self.pending: dict[str, _Pending] = {}
        self._dedupe: OrderedDict[tuple[str, str], tuple[float, asyncio.Future[dict[str, Any]]]] = OrderedDict()
        registry.on_gone = self.node_gone

    def invoke(self, params: dict[str, Any], caller: envelope.CallerInfo) -> Any:
        node_id, command, key = params.get("nodeId"), params.get("command"), params.get("idempotencyKey")
        for name, value in (("nodeId", node_id), ("command", command), ("idempotencyKey", key)):
            if not isinstance(value, str) or not value:
                raise invalid_request(f"invalid node.invoke params: must have required property '{name}'")
        assert isinstance(node_id, str) and isinstance(command, str) and isinstance(key, str)
        cached = self._cached(node_id, key)
        if cached is not None:
            return asyncio.shield(cached)
        future = self._start(node_id, command, key, params)
        now = time.monotonic()
        self._dedupe[(node_id, key)] = (now, future)
        while len(self._dedupe) > DEDUPE_MAX:
            self._dedupe.popitem(last=False)
        return asyncio.shield(future)

    def _cached(self, node_id: str, key: str) -> asyncio.Future[dict[str, Any]] | None:
        entry = self._dedupe.get((node_id, key))
        if entry is None:
            return None
        if time.monotonic() - entry[0] > DEDUPE_TTL_S:
            del self._dedupe[(node_id, key)]
            return None
        return entry[1]

    def _start(self, node_id: str, command: str, key: str, params: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        future.add_done_callback(lambda f: f.exception() if not f.cancelled() else None)  # retrieved
        try:
            conn_id, timeout_ms, request = self._request(node_id, command, key, params)
        except GatewayError as exc:
            future.set_exception(exc)
            return future
        invoke_id = request["id"]
        self.pending[invoke_id] = _Pending(node_id, conn_id, command, future)
        self.deliver(conn_id, "node.invoke.request", request)
        timer = loop.call_later(timeout_ms / 1000, self._timed_out, invoke_id)
        future.add_done_callback(lambda _f: (timer.cancel(), self.pending.pop(invoke_id, None)))
        return future

    def _request(self, node_id: str, command: str, key: str, params: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
        row = self.registry.store.node(node_id)
        if row is None or row["approved_ms"] is None:
            raise _pairing_changed()
        live = self.registry.live.get(node_id)
        if live is None:
            raise _node_error("NOT_CONNECTED", "node not connected", False, code="NOT_CONNECTED")
        approved = sorted(set(json.loads(row["commands"])) & set(live.declared))
        refusal = command_policy.invoke_refusal(live.platform, live.caps, approved, command, self.config())
        if refusal is not None:
            raise invalid_request(refusal, details={"reason": "command not allowlisted", "command": command})
        if sum(1 for p in self.pending.values() if p.node_id == node_id) >= MAX_PENDING_PER_NODE:
            raise unavailable("too many invocations in flight for this node", retry_after_ms=500, details={"code": "QUEUE_FULL"})
        raw_params = params.get("params")
        params_json = json.dumps(raw_params, separators=(",", ":")) if raw_params is not None else None
        if params_json is not None and len(params_json) > MAX_PARAMS_JSON:
            raise invalid_request(f"invalid node.invoke params: params larger than {MAX_PARAMS_JSON} bytes")
        timeout_ms = node_invoke.timeout_ms(params)
        request = {"id": str(uuid.uuid4()), "nodeId": node_id, "command": command, "paramsJSON": params_json,
                   "timeoutMs": timeout_ms, "idempotencyKey": key}
        return live.conn_id, timeout_ms, request

    def _timed_out(self, invoke_id: str) -> None:
        p = self.pending.pop(invoke_id, None)
        if p is None or p.future.done():
            return
        self.deliver(p.conn_id, "node.invoke.cancel", {"invokeId": invoke_id, "nodeId": p.node_id})
        p.future.set_exception(_node_error("TIMEOUT", "node invoke timed out", True))

    def node_gone(self, node_id: str, why: str) -> None:
        for invoke_id, p in list(self.pending.items()):
            if p.node_id == node_id and not p.future.done():
                self.pending.pop(invoke_id, None)
                if why == "removed":
                    p.future.set_exception(_pairing_changed())
                else:
                    p.future.set_exception(_node_error("NODE_DISCONNECTED", f"node {why} while invocation was active", True))

    # ------------------------------------------------------------------ from the node

    def result(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        node_id = self.registry.node_of(caller)
        invoke_id = params.get("id")
        if not isinstance(invoke_id, str) or not invoke_id:
            raise invalid_request("invalid node.invoke.result params: must have required property 'id'")
        p = self.pending.get(invoke_id)
        if p is None or p.node_id != node_id:
            return {"ok": True, "ignored": True}  # late (timed out / cancelled) or not this node's
        if params.get("ok") is True:
            payload = params.get("payload")
            payload_json = params.get("payloadJSON")
            if isinstance(payload_json, str):
                try:
                    payload = json.loads(payload_json)
                except ValueError:
                    payload = None
            else:
                payload_json = json.dumps(payload, separators=(",", ":")) if payload is not None else None
            p.future.set_result({"ok": True, "nodeId": node_id, "command": p.command, "payload": payload, "payloadJSON": payload_json})
        else:
            err = params.get("error") if isinstance(params.get("error"), dict) else {}
            code = str(err.get("code") or "UNAVAILABLE")[:64]
            message = str(err.get("message") or "node command failed")[:1024]
            p.future.set_exception(_node_error(code, message, True))
        return {"ok": True}

    def progress(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        self.registry.node_of(caller)
        return {"ok": True}
