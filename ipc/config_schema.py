"""The typed model of the config keys this gateway knows, and `validate()` with messages that name
the key path ("gateway.port: expected int, got str").

`gateway.*` is closed: an unknown key there is an error, as upstream's validator has it.
Other sections are typed where the gateway reads them and open otherwise; an unknown
top-level section is a warning, so a config written for a newer upstream still starts.
Used by the supervisor (start and every reload) and by `openclaw config validate/set`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from .channel_schema import check as check_channels
from .channel_schema import section_type
from .model_config import validate_models  # models.providers + the agents' model choice

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]

BIND_MODES = ("loopback", "lan", "tailnet", "auto", "custom")
AUTH_MODES = ("none", "token", "password", "trusted-proxy")
RELOAD_MODES = ("off", "hot", "restart", "hybrid")
LOG_LEVELS = ("silent", "fatal", "error", "warn", "info", "debug", "trace")
CHANNEL_ID = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_CHANNELS = 32  # each is a process
REDACTED = "__OPENCLAW_REDACTED__"  # what config views show instead of a secret; never a value

ENUMS = {
    "gateway.mode": ("local", "remote"),
    "gateway.bind": BIND_MODES,
    "gateway.auth.mode": AUTH_MODES,
    "gateway.reload.mode": RELOAD_MODES,
    "gateway.tailscale.mode": ("off", "serve", "funnel"),
    "discovery.mdns.mode": ("off", "minimal", "full"),
    "logging.level": LOG_LEVELS,
    "logging.consoleLevel": LOG_LEVELS,
    "logging.consoleStyle": ("pretty", "compact", "json"),
    "channels.telegram.dmPolicy": ("pairing", "allowlist", "open", "disabled"),
}


class _Closed(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class RateLimit(_Closed):
    maxAttempts: PositiveInt | None = None
    windowMs: PositiveInt | None = None
    lockoutMs: Annotated[int, msgspec.Meta(ge=0)] | None = None
    exemptLoopback: bool | None = None


class GatewayAuth(_Closed):
    mode: Literal["none", "token", "password", "trusted-proxy"] | None = None
    token: str | None = None
    password: str | None = None
    allowTailscale: bool | None = None
    trustedProxy: dict[str, Any] | None = None
    identityScopes: Any = None
    rateLimit: RateLimit | None = None


class GatewayReload(_Closed):
    mode: Literal["off", "hot", "restart", "hybrid"] | None = None


class GatewayTls(_Closed):
    enabled: bool | None = None
    autoGenerate: bool | None = None
    certPath: str | None = None
    keyPath: str | None = None
    caPath: str | None = None


class GatewayRemote(_Closed):
    url: str | None = None
    transport: str | None = None
    token: str | None = None
    password: str | None = None
    tlsFingerprint: str | None = None
    sshTarget: str | None = None
    sshIdentity: str | None = None
    remotePort: Port | None = None


class GatewayTailscale(_Closed):
    mode: Literal["off", "serve", "funnel"] | None = None
    resetOnExit: bool | None = None


class Endpoint(msgspec.Struct, omit_defaults=True):
    enabled: bool | None = None


class HttpEndpoints(msgspec.Struct, omit_defaults=True):
    chatCompletions: Endpoint | None = None
    responses: Endpoint | None = None


class GatewayHttp(msgspec.Struct, omit_defaults=True):
    endpoints: HttpEndpoints | None = None
    securityHeaders: dict[str, Any] | None = None


class ControlUi(msgspec.Struct, omit_defaults=True):
    enabled: bool | None = None
    basePath: str | None = None
    allowedOrigins: list[str] | None = None
    root: str | None = None


class GatewayTools(msgspec.Struct, omit_defaults=True):
    allow: list[str] | None = None
    deny: list[str] | None = None


class CanvasHost(_Closed):
    enabled: bool | None = None
    port: Port | None = None
    root: str | None = None
    allowedHosts: list[str] | None = None  # Host names besides localhost ones (a reverse proxy's), loopback bind
    liveReload: bool | None = None  # upstream's key; accepted, no effect here


class Gateway(_Closed):
    mode: Literal["local", "remote"] | None = None
    port: Port | None = None
    bind: Literal["loopback", "lan", "tailnet", "auto", "custom"] | None = None
    customBindHost: str | None = None
    auth: GatewayAuth | None = None
    reload: GatewayReload | None = None
    controlUi: ControlUi | None = None
    http: GatewayHttp | None = None
    tools: GatewayTools | None = None
    tls: GatewayTls | None = None
    remote: GatewayRemote | None = None
    tailscale: GatewayTailscale | None = None
    nodes: dict[str, Any] | None = None
    terminal: dict[str, Any] | None = None
    roles: dict[str, Any] | None = None
    publicOrigin: str | None = None
    trustedProxies: list[str] | None = None
    allowRealIpFallback: bool | None = None
    cliAgents: dict[str, Any] | None = None
    push: dict[str, Any] | None = None
    portals: dict[str, Any] | None = None
    canvasHost: CanvasHost | None = None  # seed 004's place; the top-level section wins


class Logging(msgspec.Struct, omit_defaults=True):
    level: Literal["silent", "fatal", "error", "warn", "info", "debug", "trace"] | None = None
    file: str | None = None
    consoleLevel: Literal["silent", "fatal", "error", "warn", "info", "debug", "trace"] | None = None
    consoleStyle: Literal["pretty", "compact", "json"] | None = None
    maxFileBytes: PositiveInt | None = None  # rotate a file before it grows past this (upstream's key)
    maxFiles: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None  # `.1` ... `.N` kept per file
    retentionDays: Annotated[int, msgspec.Meta(ge=0, le=3650)] | None = None  # dated files kept


class Commands(msgspec.Struct, omit_defaults=True):
    restart: bool | None = None


class Hooks(msgspec.Struct, omit_defaults=True):
    enabled: bool | None = None
    token: str | None = None
    path: str | None = None


class DiscoveryMdns(msgspec.Struct, omit_defaults=True):
    mode: Literal["off", "minimal", "full"] | None = None


class DiscoveryWideArea(msgspec.Struct, omit_defaults=True):
    enabled: bool | None = None
    domain: Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?$")] | None = None


class Discovery(msgspec.Struct, omit_defaults=True):
    """`discovery.*` (the advertiser, workers/advertiser/): mDNS mode and the wide-area DNS-SD zone."""

    mdns: DiscoveryMdns | None = None
    wideArea: DiscoveryWideArea | None = None


class Root(msgspec.Struct, omit_defaults=True):
    gateway: Gateway | None = None
    logging: Logging | None = None
    commands: Commands | None = None
    channels: dict[str, Any] | None = None  # each section checked with its id in the path
    hooks: Hooks | None = None
    canvasHost: CanvasHost | None = None  # ipc/canvas_config.py
    agents: dict[str, Any] | None = None
    models: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    wizard: dict[str, Any] | None = None
    discovery: Discovery | None = None


KNOWN_SECTIONS = frozenset(
    set(Root.__struct_fields__)
    | {
        "canvasHost", "discovery", "plugins", "tools", "session", "messages", "bindings", "identity",
        "audio", "agent", "routing", "talk", "skills", "secrets", "tui", "ui", "cron", "mcp", "browser",
        "update", "diagnostics", "env", "auth", "web", "nodeHost", "approvals", "memory", "$schema",
    }
)

_AT = re.compile(r"^(?P<text>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _path_text(json_path: str) -> str:
    """`$.gateway.port` / `$.channels.x` / `$.a[0]` -> `gateway.port` / `channels.x` / `a[0]`."""
    return json_path.lstrip(".") or "<root>"


def _humanize(msgspec_error: str, prefix: str = "") -> dict[str, Any]:
    m = _AT.match(msgspec_error)
    text = m.group("text") if m else msgspec_error
    path = _path_text(m.group("path") or "") if m else "<root>"
    if prefix:
        path = prefix if path == "<root>" else f"{prefix}.{path}"
    unknown = re.match(r"Object contains unknown field `([^`]+)`", text)
    if unknown:
        key = unknown.group(1)
        return {"path": f"{path}.{key}" if path != "<root>" else key, "message": "unknown key"}
    enum = re.match(r"Invalid enum value (.+)", text)
    if enum:
        allowed = ENUMS.get(path)
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return {"path": path, "message": f"invalid value {enum.group(1)}{hint}"}
    text = re.sub(r"`([^`]*)`", r"\1", text).replace(" | null", "")
    text = text.replace("Expected", "expected")
    return {"path": path, "message": text}


def validate(data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(errors, warnings), each `{path, message}`; no errors means the gateway can run it."""
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    try:
        msgspec.convert(data, Root, strict=True)
    except msgspec.ValidationError as exc:
        errors.append(_humanize(str(exc)))
    channels = data.get("channels")
    if isinstance(channels, dict):
        if len(channels) > MAX_CHANNELS:
            errors.append({"path": "channels", "message": f"at most {MAX_CHANNELS} channels (each runs a process)"})
        for cid, section in channels.items():
            if not CHANNEL_ID.match(cid):
                errors.append(
                    {"path": f"channels.{cid}", "message": "channel ids are lowercase letters, digits, '-' and '_' (max 32)"}
                )
                continue
            kind_type = section_type(cid)
            if kind_type is None:
                continue  # checked by channel_schema.check (a map of ids)
            try:
                msgspec.convert(section, kind_type, strict=True)
            except msgspec.ValidationError as exc:
                errors.append(_humanize(str(exc), f"channels.{cid}"))
        for err in check_channels(data):
            errors.append(_humanize(err["message"], err["path"]) if err.pop("raw", False) else err)
    errors.extend(validate_models(data))
    gw = data.get("gateway")
    if isinstance(gw, dict) and gw.get("bind") == "custom" and not gw.get("customBindHost"):
        errors.append({"path": "gateway.customBindHost", "message": "required when gateway.bind is \"custom\""})
    errors.extend(_control_ui_rules(data))
    errors.extend({"path": p, "message": f"is the redaction placeholder {REDACTED}, not a value"} for p in _placeholders(data))
    for key in data:
        if key not in KNOWN_SECTIONS:
            warnings.append({"path": key, "message": "unknown section (ignored by this gateway)"})
    return errors, warnings


def _control_ui_rules(data: dict[str, Any]) -> list[dict[str, Any]]:
    from .control_ui_links import normalize_base_path, shadowed_base_path

    ui = (data.get("gateway") or {}).get("controlUi") if isinstance(data.get("gateway"), dict) else None
    raw = ui.get("basePath") if isinstance(ui, dict) else None
    if not isinstance(raw, str):
        return []
    if normalize_base_path(raw) is None:
        return [{"path": "gateway.controlUi.basePath",
                 "message": "a plain path like /ops (letters, digits, -._~ and the like; no .., //, ?, #, %)"}]
    shadowed = shadowed_base_path(data)
    if shadowed:
        return [{"path": "gateway.controlUi.basePath",
                 "message": f"{shadowed} is one of the gateway's own paths (API, probe, hooks or channel): choose another"}]
    return []


def _placeholders(value: Any, path: str = "") -> list[str]:
    if value == REDACTED:
        return [path or "<root>"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _placeholders(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _placeholders(v, f"{path}[{i}]")]
    return []


def first_error_text(errors: list[dict[str, Any]]) -> str:
    e = errors[0]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{e['path']}: {e['message']}{more}"
