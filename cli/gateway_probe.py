"""Probe one gateway: WS connect, what the credentials may do, and the read calls its scopes allow.

Shared by `gateway status` (its `rpc` block) and `gateway probe` (one per target). Every step is
bounded by the caller's time budget (the client's deadline covers connect and every answer).
Vocabulary as upstream's probe: `reached` = the gateway answered at the protocol level (hello-ok,
or a refusal frame), `ok` = connect plus every read call answered, `scope_limited` = connected
but the read calls were refused for a missing scope.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from openclaw.ipc import scopes

from .client import GatewayClient, RpcError, TransportError

# Asked for so the answer says what the credential may really do (a probe only reads).
PROBE_SCOPES = [scopes.ADMIN, scopes.WRITE, scopes.READ]
FULL_DETAIL = ("health", "status", "system-presence", "config.get")
STATUS_DETAIL = ("status",)
PAIRING_CODES = {"PAIRING_REQUIRED", "NOT_PAIRED"}


def capability_of(granted: list[str] | None, connected: bool, connect_code: str | None = None) -> str:
    """Upstream's capability names, strongest first."""
    if connect_code in PAIRING_CODES:
        return "pairing_pending"
    granted = granted or []
    if scopes.ADMIN in granted:
        return "admin_capable"
    if scopes.WRITE in granted:
        return "write_capable"
    if scopes.READ in granted:
        return "read_only"
    return "connected_no_operator_scope" if connected else "unknown"


CAPABILITY_ORDER = (
    "admin_capable", "write_capable", "read_only", "connected_no_operator_scope", "pairing_pending", "unknown",
)


def strongest_capability(capabilities: list[str]) -> str:
    for cap in CAPABILITY_ORDER:
        if cap in capabilities:
            return cap
    return "unknown"


@dataclass
class ProbeResult:
    url: str
    reached: bool = False  # the gateway answered at the protocol level
    connected: bool = False  # hello-ok
    ok: bool = False  # connected and every read call answered
    scope_limited: bool = False
    latency_ms: int | None = None  # start -> hello-ok
    duration_ms: int = 0
    error: str | None = None
    error_code: str | None = None  # the gateway's error code, or the transport's kind
    detail_code: str | None = None  # error.details.code
    close: dict[str, Any] | None = None
    role: str | None = None
    granted: list[str] = field(default_factory=list)
    server: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)  # method -> payload
    failed_calls: dict[str, str] = field(default_factory=dict)  # method -> error

    @property
    def capability(self) -> str:
        return capability_of(self.granted, self.connected, self.detail_code or self.error_code)

    def auth_json(self) -> dict[str, Any]:
        return {"role": self.role, "scopes": list(self.granted), "capability": self.capability}

    @property
    def identity(self) -> str:
        """What tells two gateways apart: the boot id, else the presence instance or pid, else the URL."""
        if self.server.get("bootId"):
            return f"boot:{self.server['bootId']}"
        status = self.answers.get("status")
        if isinstance(status, dict) and status.get("pid"):
            host = (self.self_presence() or {}).get("host") or ""
            return f"pid:{host}:{status['pid']}"
        me = self.self_presence()
        if me and me.get("instanceId"):
            return f"instance:{me['instanceId']}"
        return f"url:{self.url}"

    def self_presence(self) -> dict[str, Any] | None:
        """The gateway's own presence entry (mode gateway, reason self), as upstream picks it."""
        presence = self.answers.get("system-presence")
        if not isinstance(presence, list):
            return None
        for entry in presence:
            if isinstance(entry, dict) and entry.get("mode") == "gateway" and entry.get("reason") == "self":
                return {k: entry.get(k) for k in ("host", "ip", "version", "platform", "deviceId", "instanceId") if entry.get(k)}
        return None


def _close_of(exc: TransportError) -> dict[str, Any] | None:
    head, _, rest = exc.reason.partition(" ")
    if exc.kind == "closed" and head.isdigit():
        return {"code": int(head), "reason": rest}
    return None


def _rpc_error_text(error: dict[str, Any]) -> str:
    details = error.get("details")
    code = details.get("code") if isinstance(details, dict) else None
    text = str(error.get("message") or error.get("code") or "request failed")
    return f"{text} [{code}]" if code and code not in text else text


def probe_gateway(
    url: str, token: str | None, password: str | None, timeout_ms: int,
    detail: tuple[str, ...] = FULL_DETAIL, display_name: str = "gateway:probe", tls_fingerprint: str | None = None,
) -> ProbeResult:
    """Connect, then call `detail` methods (those the granted scopes allow); never raises."""
    started = time.monotonic()
    res = ProbeResult(url=url)
    client = GatewayClient(
        url, token=token, password=password, timeout_s=max(timeout_ms, 1) / 1000,
        client_id="cli", mode="cli", scopes=PROBE_SCOPES, display_name=display_name, tls_fingerprint=tls_fingerprint,
    )
    try:
        hello = client.connect()
        res.reached = res.connected = True
        res.latency_ms = int((time.monotonic() - started) * 1000)
        auth = hello.get("auth") if isinstance(hello, dict) else None
        auth = auth if isinstance(auth, dict) else {}
        res.role = auth.get("role") if isinstance(auth.get("role"), str) else None
        res.granted = [s for s in auth.get("scopes") or [] if isinstance(s, str)]
        server = hello.get("server") if isinstance(hello, dict) else None
        if isinstance(server, dict):
            res.server = {k: server[k] for k in ("version", "buildId", "bootId", "connId") if isinstance(server.get(k), str)}
        _read_details(client, res, detail)
    except TransportError as exc:
        res.error, res.error_code, res.close = exc.message, exc.kind, _close_of(exc)
        if exc.kind == "timeout":  # the client's text for a stalled handshake says "not reachable"
            res.error = f"timeout: {url} did not answer within {timeout_ms}ms"
        if res.connected:
            res.failed_calls.setdefault("connection", exc.message)
    except RpcError as exc:  # the connect itself was refused: the gateway is there
        res.reached = True
        res.error = _rpc_error_text(exc.error)
        res.error_code = exc.error.get("code")
        details = exc.error.get("details")
        res.detail_code = details.get("code") if isinstance(details, dict) else None
    finally:
        client.close()
    res.duration_ms = int((time.monotonic() - started) * 1000)
    return res


def _read_details(client: GatewayClient, res: ProbeResult, detail: tuple[str, ...]) -> None:
    allowed = scopes.READ in res.granted or scopes.WRITE in res.granted or scopes.ADMIN in res.granted
    for method in detail:
        if method not in scopes.SCOPE_EXEMPT and not allowed:
            res.scope_limited = True
            res.failed_calls[method] = f"missing scope: {scopes.READ}"
            continue
        try:
            res.answers[method] = client.call(method, {} if method == "config.get" else None)
        except RpcError as exc:
            details = exc.error.get("details")
            if isinstance(details, dict) and details.get("code") == "MISSING_SCOPE":
                res.scope_limited = True
            res.failed_calls[method] = _rpc_error_text(exc.error)
    res.ok = not res.failed_calls
    if res.failed_calls:
        res.error = next(iter(res.failed_calls.values()))
