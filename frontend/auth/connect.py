"""Decide who a connecting client is (spec §2.3 steps 4-8): the principal, or a refusal.

    proxy attribution -> control-ui/node need a device -> some credential present ->
    rate limiter (lockout, or loopback's progressive delay) -> shared secret (constant time) ->
    no device: the clearing rules of policy.scopes_without_device ->
    device: proof (device_proof.verify) -> the pairing decision, asked of the node worker that
    keeps the pairing store (auto-pair on loopback, device tokens, pairing requests).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc import frames, scopes
from openclaw.ipc.errors import ErrorCode, GatewayError
from openclaw.ipc.secrets_compare import secret_equals

from . import device_proof, policy
from .client_address import ClientAddress
from .principal import Principal
from .rate_limit import RateLimited

if TYPE_CHECKING:
    from ..services import Services

DEVICE_DECISION_TIMEOUT_S = 5.0


class ConnectRefused(Exception):
    def __init__(self, error: GatewayError, close_code: int = 1008, close_reason: str | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.close_code = close_code
        self.close_reason = close_reason or error.message


@dataclass(frozen=True, slots=True)
class Grant:
    principal: Principal
    secret_digest: bytes | None = None  # the shared secret it used (a rotation closes it)
    device_token: str | None = None
    issued_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectContext:
    conn_id: str
    nonce: str
    address: ClientAddress
    origin: str | None
    own_loopback_page: bool = False  # a loopback browser on a page this gateway served (auto-paired like the CLI)


def _refuse(code: ErrorCode, message: str, details: dict[str, Any], close_code: int = 1008, **kw: Any) -> ConnectRefused:
    return ConnectRefused(GatewayError(code, message, details=details, **kw), close_code)


def _auth_details(code: str, reason: str, next_step: str, can_retry_with_device_token: bool = False) -> dict[str, Any]:
    return {
        "code": code, "authReason": reason, "canRetryWithDeviceToken": can_retry_with_device_token,
        "recommendedNextStep": next_step,
    }


def _secret_mismatch(mode: str, client_id: str, loopback: bool, has_device: bool) -> ConnectRefused:
    hint = f"use this gateway's gateway.auth.{mode} or pair the device" if client_id.lower() == "cli" and loopback else f"provide gateway auth {mode}"
    code = "AUTH_TOKEN_MISMATCH" if mode == "token" else "AUTH_PASSWORD_MISMATCH"
    return _refuse(
        ErrorCode.INVALID_REQUEST, f"unauthorized: gateway {mode} mismatch ({hint})",
        _auth_details(code, f"{mode}_mismatch", "retry_with_device_token" if has_device else "update_auth_credentials", has_device),
    )


def _identity_required() -> ConnectRefused:
    return _refuse(ErrorCode.NOT_PAIRED, "device identity required",
                   {"code": "DEVICE_IDENTITY_REQUIRED", "reason": "device-identity-required"})


async def authenticate(svc: Services, ctx: ConnectContext, params: frames.ConnectParams, role: str) -> Grant:
    g = svc.settings.gateway
    client = params.client
    auth = params.auth or frames.ConnectAuth()
    addr = ctx.address
    browser = ctx.origin is not None
    if addr.refused is not None:
        raise _refuse(ErrorCode.INVALID_REQUEST, "forwarded headers from an untrusted proxy (add it to gateway.trustedProxies)",
                      {"code": "PROXY_ATTRIBUTION_REQUIRED", "reason": addr.refused})
    if params.device is None:
        if policy.is_control_ui(client.id, client.mode):
            raise _refuse(ErrorCode.NOT_PAIRED, "control ui requires device identity",
                          {"code": "CONTROL_UI_DEVICE_IDENTITY_REQUIRED", "reason": "device-identity-required"})
        if role == "node":
            raise _identity_required()
    secret = auth.token if auth.token is not None else auth.password
    if g.auth_mode != "none" and secret is None and auth.deviceToken is None and params.device is None:
        raise _identity_required()

    limiter = svc.auth_limiter
    exempt = limiter.limits.exempt_loopback and addr.is_loopback and not browser
    key = f"{addr.ip}|{ctx.origin}" if browser else addr.ip
    try:
        wait = limiter.admit(key, exempt)
    except RateLimited as exc:
        raise _refuse(
            ErrorCode.INVALID_REQUEST, "unauthorized: too many failed authentication attempts (retry later)",
            {**_auth_details("AUTH_RATE_LIMITED", "rate_limited", "wait_then_retry"), "retryAfterMs": exc.retry_after_ms},
            retryable=True, retry_after_ms=exc.retry_after_ms,
        ) from None
    if wait > 0:
        await asyncio.sleep(wait)

    shared_ok = g.auth_mode == "none"
    method = "none"
    expected = g.token if g.auth_mode == "token" else g.password
    token_candidate: str | None = None  # openclaw-node sends its device token as auth.token
    if not shared_ok and secret is not None:
        if expected is not None and secret_equals(secret, expected):
            shared_ok, method = True, g.auth_mode
        elif params.device is not None and auth.token is not None and auth.deviceToken is None:
            token_candidate = auth.token
        else:
            limiter.failed(key, exempt)
            raise _secret_mismatch(g.auth_mode, client.id, addr.is_loopback, params.device is not None)
    digest = svc.settings.current_secret_digest() if shared_ok and method != "none" else None
    is_local = addr.is_loopback and not browser
    requested = scopes.normalize(params.scopes) if role == "operator" else []

    if params.device is None:
        if not shared_ok:  # a device token needs the device that holds it
            raise _identity_required()
        limiter.succeeded(key)
        granted = policy.scopes_without_device(client.id, client.mode, params.scopes, is_local=is_local, has_origin=browser)
        principal = Principal(role, granted, method, None, client.id, client.mode, is_local, ctx.origin)
        return Grant(principal, digest)

    try:
        device_id, raw_key = device_proof.verify(params, role, ctx.nonce, int(time.time() * 1000))
    except device_proof.DeviceProofError as exc:
        limiter.failed(key, exempt)
        raise ConnectRefused(exc) from None
    if shared_ok and is_local and (client.id.lower(), client.mode) in policy.LOCAL_SCOPE_EXCEPTIONS and role == "operator":
        # the local CLI / backend exception: scopes as asked, no pairing record, no device token (spec §9.1)
        limiter.succeeded(key)
        return Grant(Principal(role, tuple(requested), method, device_id, client.id, client.mode, is_local, ctx.origin), digest)
    decision = await _device_decision(
        svc, ctx, params, role, requested, device_id, raw_key, shared_ok, is_local or ctx.own_loopback_page,
        auth.deviceToken or token_candidate,
    )
    if not decision.get("ok"):
        if decision.get("countFailure"):
            limiter.failed(key, exempt)
        if token_candidate is not None and decision.get("countFailure"):
            raise _secret_mismatch(g.auth_mode, client.id, addr.is_loopback, True)  # neither secret nor device token
        err = decision.get("error") or {}
        try:
            code = ErrorCode(err.get("code", "INVALID_REQUEST"))
        except ValueError:
            code = ErrorCode.INVALID_REQUEST
        error = GatewayError(code, str(err.get("message") or "unauthorized"), details=err.get("details"),
                             retryable=err.get("retryable"), retry_after_ms=err.get("retryAfterMs"))
        raise ConnectRefused(error, close_reason=decision.get("closeReason"))
    limiter.succeeded(key)
    via = decision.get("via")
    principal = Principal(
        role, tuple(decision.get("scopes") or ()) if role == "operator" else (),
        method if via == "shared" else "device-token", device_id, client.id, client.mode, is_local, ctx.origin,
    )
    return Grant(principal, digest if via == "shared" else None, decision.get("deviceToken"), decision.get("issuedAtMs"))


async def _device_decision(
    svc: Services, ctx: ConnectContext, params: frames.ConnectParams, role: str, requested: list[str],
    device_id: str, raw_key: bytes, shared_ok: bool, is_local: bool, device_token: str | None,
) -> dict[str, Any]:
    c = params.client
    question = {
        "connId": ctx.conn_id, "deviceId": device_id, "publicKey": device_proof.b64url(raw_key), "role": role,
        "scopes": requested, "sharedAuthOk": shared_ok, "isLocal": is_local, "remoteIp": ctx.address.ip,
        "deviceToken": None if shared_ok else device_token,
        "client": {"id": c.id, "mode": c.mode, "displayName": c.displayName, "platform": c.platform,
                   "deviceFamily": c.deviceFamily, "version": c.version, "modelIdentifier": c.modelIdentifier},
    }
    try:
        answer = await svc.router.ask("device.authorize", msgspec.json.encode(question), DEVICE_DECISION_TIMEOUT_S)
    except GatewayError as exc:
        raise ConnectRefused(
            GatewayError(ErrorCode.UNAVAILABLE, "gateway starting; retry shortly", retryable=True, retry_after_ms=500,
                         details={"reason": "pairing-store-unavailable", "cause": exc.message}),
            close_code=1013,
        ) from None
    value = msgspec.json.decode(answer)
    return value if isinstance(value, dict) else {"ok": False, "error": {"code": "UNAVAILABLE", "message": "bad pairing answer"}}
