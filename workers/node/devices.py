"""Device pairing decisions and the `device.*` methods (spec §2.5).

`device.authorize` (asked by the front-end after it verified the device's signature):
    device token, no shared secret -> the token must be this device's for this role, and the
        requested scopes within the token's (AUTH_DEVICE_TOKEN_MISMATCH / AUTH_SCOPE_MISMATCH)
    shared secret or an approved device key -> paired for this role with these scopes? ok,
        with a fresh device token; on loopback with the shared secret: paired silently;
        otherwise a pending request and NOT_PAIRED PAIRING_REQUIRED (not-paired | role-upgrade |
        scope-upgrade) until an operator approves it with `device.pair.approve`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from openclaw.ipc import envelope, scopes
from openclaw.ipc.errors import invalid_request
from openclaw.ipc.logs import get_logger

from .pairing_store import PairingStore, now_ms

log = get_logger("worker/node")


TOUCH_INTERVAL_MS = 60_000
PAIRING_MESSAGES = {
    "not-paired": "pairing required: device is not approved yet",
    "role-upgrade": "pairing required: role upgrade pending approval",
    "scope-upgrade": "pairing required: scope upgrade pending approval",
}


def _error(code: str, message: str, details: dict[str, Any], count_failure: bool = False) -> dict[str, Any]:
    return {"ok": False, "countFailure": count_failure, "error": {"code": code, "message": message, "details": details}}


def _str_param(params: dict[str, Any], key: str, method: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise invalid_request(f"invalid {method} params: must have required property '{key}'")
    return value


class Devices:
    def __init__(self, store: PairingStore, push: Callable[[str, Any], None], disconnect_device: Callable[[str, int, str], None]) -> None:
        self.is_connected: Callable[[str], bool] = lambda device_id: False
        self.store = store
        self.push = push
        self.disconnect_device = disconnect_device  # (deviceId, code, reason): close its live sockets

    # ------------------------------------------------------------------ the connect decision

    def authorize(self, q: dict[str, Any]) -> dict[str, Any]:
        device_id, role = q["deviceId"], q["role"]
        requested = sorted(set(q.get("scopes") or []))
        known = self.store.device(device_id)
        if known is not None and known["public_key"] != q["publicKey"]:
            return _error("INVALID_REQUEST", "device identity mismatch",
                          {"code": "DEVICE_AUTH_DEVICE_ID_MISMATCH", "reason": "device-id-mismatch"}, True)
        token = q.get("deviceToken")
        if token and not q.get("sharedAuthOk"):
            row = self.store.token(token)
            if row is None or row["device_id"] != device_id or row["role"] != role:
                return _error(
                    "INVALID_REQUEST", "unauthorized: device token mismatch (re-pair the device)",
                    {"code": "AUTH_DEVICE_TOKEN_MISMATCH", "authReason": "device_token_mismatch",
                     "canRetryWithDeviceToken": False, "recommendedNextStep": "update_auth_credentials"}, True,
                )
            allowed = set(json.loads(row["scopes"]))
            if not set(requested) <= allowed:
                return _error(
                    "INVALID_REQUEST", "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)",
                    {"code": "AUTH_SCOPE_MISMATCH", "authReason": "scope_mismatch", "requestedScopes": requested,
                     "allowedScopes": sorted(allowed), "recommendedNextStep": "review_auth_configuration"},
                )
            if (row["last_used_ms"] or 0) < now_ms() - TOUCH_INTERVAL_MS:  # one write a minute, not one per connect
                self.store.token_used(token, device_id)
            return {"ok": True, "via": "device-token", "scopes": requested}
        granted = self.store.grant(device_id, role)
        if granted is not None and set(requested) <= set(granted):
            issued, at = self.store.issue_token(device_id, role, requested)
            self.store.pair(self._device(q), role, granted)  # refresh metadata and last-seen
            return {"ok": True, "via": "shared" if q.get("sharedAuthOk") else "device", "scopes": requested,
                    "deviceToken": issued, "issuedAtMs": at}
        if q.get("sharedAuthOk") and q.get("isLocal"):
            self.store.pair(self._device(q), role, sorted(set(requested) | set(granted or [])))
            issued, at = self.store.issue_token(device_id, role, requested)
            self.push("device.pair.resolved", {"requestId": str(uuid.uuid4()), "deviceId": device_id, "decision": "approved",
                                               "ts": now_ms()})
            log.info("device paired on loopback", device=device_id[:12], role=role, scopes=requested)
            return {"ok": True, "via": "shared", "scopes": requested, "deviceToken": issued, "issuedAtMs": at}
        reason = "not-paired" if known is None else "role-upgrade" if granted is None else "scope-upgrade"
        request_id = self._request(q, reason)
        message = PAIRING_MESSAGES[reason]
        approved = self.store.grants(device_id)
        details: dict[str, Any] = {
            "code": "PAIRING_REQUIRED", "reason": reason, "requestId": request_id,
            "remediationHint": "Approve this device from the pending pairing requests.", "deviceId": device_id,
            "requestedRole": role, "requestedScopes": requested,
            # keep retrying (node hosts pause for good on a plain PAIRING_REQUIRED)
            "recommendedNextStep": "wait_then_retry", "retryable": True, "pauseReconnect": False,
        }
        if approved:
            details["approvedRoles"] = sorted(approved)
            details["approvedScopes"] = sorted({s for g in approved.values() for s in g["scopes"]})
        out = _error("NOT_PAIRED", message, details)
        out["closeReason"] = f"{message} (requestId: {request_id})"
        return out

    def _device(self, q: dict[str, Any]) -> dict[str, Any]:
        c = q.get("client") or {}
        return {"deviceId": q["deviceId"], "publicKey": q["publicKey"], "displayName": c.get("displayName"),
                "platform": c.get("platform"), "deviceFamily": c.get("deviceFamily"), "clientId": c.get("id"),
                "clientMode": c.get("mode"), "version": c.get("version"), "remoteIp": q.get("remoteIp")}

    def _request(self, q: dict[str, Any], reason: str) -> str:
        """One pending request per device and role; a repeat connect finds the same one."""
        existing = self.store.pending_for("device", q["deviceId"])
        if existing is not None and existing["role"] == q["role"]:
            body = json.loads(existing["body"])
            if set(q.get("scopes") or []) <= set(body.get("scopes") or []):
                return existing["request_id"]
            self.store.drop_request(existing["request_id"])
        request_id = str(uuid.uuid4())
        body = {**self._device(q), "role": q["role"], "scopes": sorted(set(q.get("scopes") or [])), "reason": reason,
                "isRepair": reason != "not-paired"}
        self.store.add_request(request_id, "device", q["deviceId"], q["role"], body)
        self.push("device.pair.requested", self._pending_view(request_id, body, now_ms()))
        log.info("device pairing requested", device=q["deviceId"][:12], role=q["role"], reason=reason)
        return request_id

    # ------------------------------------------------------------------ views

    @staticmethod
    def _pending_view(request_id: str, body: dict[str, Any], ts: int) -> dict[str, Any]:
        return {
            "requestId": request_id, "deviceId": body["deviceId"], "publicKey": body.get("publicKey"),
            "displayName": body.get("displayName"), "platform": body.get("platform"),
            "deviceFamily": body.get("deviceFamily"), "clientId": body.get("clientId"), "clientMode": body.get("clientMode"),
            "role": body.get("role"), "roles": [body.get("role")], "scopes": body.get("scopes") or [],
            "remoteIp": body.get("remoteIp"), "silent": False, "isRepair": body.get("isRepair", False), "ts": ts,
        }

    def _paired_view(self, row: sqlite3.Row) -> dict[str, Any]:
        grants = self.store.grants(row["device_id"])
        scopes = sorted({s for g in grants.values() for s in g["scopes"]})
        tokens = [{"role": t["role"], "scopes": json.loads(t["scopes"]), "createdAtMs": t["issued_ms"],
                   **({"lastUsedAtMs": t["last_used_ms"]} if t["last_used_ms"] else {})}
                  for t in self.store.tokens_of(row["device_id"])]
        return {
            "deviceId": row["device_id"], "publicKey": row["public_key"], "displayName": row["display_name"],
            "platform": row["platform"], "deviceFamily": row["device_family"], "clientId": row["client_id"],
            "clientMode": row["client_mode"], "role": next(iter(grants), None), "roles": sorted(grants),
            "scopes": scopes, "remoteIp": row["remote_ip"], "approvedVia": row["approved_via"] or "silent",
            **({"operatorLabel": row["label"]} if row["label"] else {}),
            "connected": self.is_connected(row["device_id"]), "tokens": tokens,
            "createdAtMs": row["created_ms"], "approvedAtMs": max((g["approvedAtMs"] for g in grants.values()), default=None),
            "lastSeenAtMs": row["last_seen_ms"],
        }

    # ------------------------------------------------------------------ methods (operator.pairing)

    def pair_list(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        pending = [self._pending_view(r["request_id"], json.loads(r["body"]), r["created_ms"]) for r in self.store.requests("device")]
        paired = [self._paired_view(r) for r in self.store.devices() if self.store.grants(r["device_id"])]
        if caller.device_id and not scopes.satisfies(caller.scopes, scopes.ADMIN):  # a device sees its own rows
            pending = [p for p in pending if p["deviceId"] == caller.device_id]
            paired = [p for p in paired if p["deviceId"] == caller.device_id]
        return {"pending": pending, "paired": paired}

    def pair_approve(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        request_id = _str_param(params, "requestId", "device.pair.approve")
        row = self.store.request(request_id)
        if row is None or row["kind"] != "device":
            raise invalid_request("unknown requestId", details={"requestId": request_id})
        body = json.loads(row["body"])
        granted = self.store.grant(body["deviceId"], body["role"]) or []
        self.store.pair(body, body["role"], sorted(set(granted) | set(body.get("scopes") or [])), via="operator")
        self.store.drop_request(request_id)
        self.push("device.pair.resolved", {"requestId": request_id, "deviceId": body["deviceId"], "decision": "approved", "ts": now_ms()})
        device = self.store.device(body["deviceId"])
        return {"requestId": request_id, "device": self._paired_view(device) if device is not None else None}

    def pair_reject(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        request_id = _str_param(params, "requestId", "device.pair.reject")
        row = self.store.request(request_id)
        if row is None or row["kind"] != "device" or not self.store.drop_request(request_id):
            raise invalid_request("unknown requestId", details={"requestId": request_id})
        self.push("device.pair.resolved", {"requestId": request_id, "deviceId": row["device_id"], "decision": "rejected", "ts": now_ms()})
        return {"requestId": request_id, "deviceId": row["device_id"]}

    def pair_remove(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        device_id = _str_param(params, "deviceId", "device.pair.remove")
        if not self.store.remove_device(device_id):
            raise invalid_request("unknown deviceId", details={"deviceId": device_id})
        self.push("device.pair.resolved", {"requestId": "", "deviceId": device_id, "decision": "removed", "ts": now_ms()})
        self.disconnect_device(device_id, 4001, "device removed")
        return {"deviceId": device_id}

    def pair_rename(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        device_id = _str_param(params, "deviceId", "device.pair.rename")
        label = params.get("label")
        if not isinstance(label, str) or not label.strip():
            raise invalid_request("label required")
        label = label.strip()
        if len(label) > 64:
            raise invalid_request("invalid device.pair.rename params: label must NOT have more than 64 characters")
        if self.store.device(device_id) is None:
            raise invalid_request("unknown deviceId", details={"deviceId": device_id})
        self.store.label_device(device_id, label)
        self.push("device.pair.changed", {})
        return {"deviceId": device_id, "label": label}

    def token_rotate(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        """A new device token for (device, role); every older one stops working, their sockets close."""
        device_id = _str_param(params, "deviceId", "device.token.rotate")
        role = params.get("role") if isinstance(params.get("role"), str) else "operator"
        granted = self.store.grant(device_id, role)
        if granted is None:
            raise invalid_request("unknown deviceId/role", details={"deviceId": device_id, "role": role})
        scopes = params.get("scopes") if isinstance(params.get("scopes"), list) else granted
        if not set(scopes) <= set(granted):
            raise invalid_request("scopes exceed the device's approved scopes", details={"approvedScopes": granted})
        self.store.revoke_tokens(device_id, role)
        token, at = self.store.issue_token(device_id, role, list(scopes))
        self.disconnect_device(device_id, 1008, "device token rotated")
        out: dict[str, Any] = {"deviceId": device_id, "role": role, "scopes": sorted(set(scopes)), "rotatedAtMs": at}
        if caller.device_id == device_id:  # a token goes only to the device it belongs to
            out.update(token=token, tokenDelivery="in-band")
        else:
            out["tokenDelivery"] = "withheld-cross-device"
        return out

    def token_revoke(self, params: dict[str, Any], caller: envelope.CallerInfo) -> dict[str, Any]:
        device_id = _str_param(params, "deviceId", "device.token.revoke")
        role = _str_param(params, "role", "device.token.revoke")
        if self.store.device(device_id) is None:
            raise invalid_request("unknown deviceId", details={"deviceId": device_id})
        self.store.revoke_tokens(device_id, role)
        self.disconnect_device(device_id, 1008, "device token revoked")
        return {"deviceId": device_id, "role": role, "revokedAtMs": now_ms()}
