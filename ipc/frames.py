"""Public Gateway WebSocket frames (protocol 4), as typed msgspec Structs.

Inbound frames are decoded with the typed decoders below; outbound hot-path
frames are assembled from pre-encoded byte pieces by the helpers at the end,
so one payload encoded once can go to many connections with their own `seq`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .errors import ErrorShape

# --------------------------------------------------------------------------- inbound


class RequestFrame(msgspec.Struct, tag="req", tag_field="type", forbid_unknown_fields=True):
    id: str | int
    method: str
    params: msgspec.Raw = msgspec.Raw(b"")
    traceparent: str | None = None
    expectedProfileId: str | None = None


CLIENT_IDS = frozenset(
    {
        "webchat-ui", "openclaw-control-ui", "openclaw-browser-copilot", "openclaw-tui", "webchat",
        "cli", "gateway-client", "openclaw-macos", "openclaw-linux", "openclaw-ios",
        "openclaw-watchos", "openclaw-android", "node-host", "openclaw-worker", "test",
        "fingerprint", "openclaw-probe",
    }
)
CLIENT_MODES = frozenset({"webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"})


class ClientInfo(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    version: str
    platform: str
    mode: str
    displayName: str | None = None
    buildId: str | None = None
    deviceFamily: str | None = None
    modelIdentifier: str | None = None
    timeZone: str | None = None
    instanceId: str | None = None


class DeviceProof(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    publicKey: str
    signature: str
    signedAt: int
    nonce: str


class ConnectAuth(msgspec.Struct, forbid_unknown_fields=True):
    token: str | None = None
    password: str | None = None
    deviceToken: str | None = None
    bootstrapToken: str | None = None
    approvalRuntimeToken: str | None = None
    agentRuntimeIdentityToken: str | None = None


class ConnectParams(msgspec.Struct, forbid_unknown_fields=True):
    minProtocol: int
    maxProtocol: int
    client: ClientInfo
    caps: list[str] | None = None
    commands: list[str] | None = None
    permissions: dict[str, bool] | None = None
    pathEnv: Any = None
    computerUse: Any = None
    workerRuns: Any = None
    modelCatalog: Any = None
    role: str | None = None
    scopes: list[str] | None = None
    device: DeviceProof | None = None
    auth: ConnectAuth | None = None
    locale: str | None = None
    userAgent: str | None = None


request_decoder = msgspec.json.Decoder(RequestFrame)
connect_params_decoder = msgspec.json.Decoder(ConnectParams)
any_decoder = msgspec.json.Decoder()


def validate_connect_params(params: ConnectParams) -> str | None:
    """Checks the schema can't express; returns the error text or None."""
    if params.minProtocol < 1 or params.maxProtocol < 1:
        return "at /minProtocol: must be >= 1"
    c = params.client
    if c.id.lower() not in CLIENT_IDS:
        return "at /client/id: must be equal to one of the allowed values"
    if c.mode not in CLIENT_MODES:
        return "at /client/mode: must be equal to one of the allowed values"
    if not c.version:
        return "at /client/version: must NOT have fewer than 1 characters"
    if not c.platform:
        return "at /client/platform: must NOT have fewer than 1 characters"
    if c.buildId is not None and len(c.buildId) > 96:
        return "at /client/buildId: must NOT have more than 96 characters"
    if c.timeZone is not None and len(c.timeZone) > 64:
        return "at /client/timeZone: must NOT have more than 64 characters"
    return None


# --------------------------------------------------------------------------- hello-ok


class ServerInfo(msgspec.Struct, omit_defaults=True):
    version: str
    connId: str
    bootId: str | None = None
    buildId: str | None = None


class HelloAuth(msgspec.Struct, omit_defaults=True):
    role: str
    scopes: list[str]
    method: str | None = None
    deviceToken: str | None = None
    issuedAtMs: int | None = None


class SessionDefaults(msgspec.Struct):
    defaultAgentId: str = "main"
    modelConfigured: bool = False  # false: runs use the built-in offline openclaw-local provider
    ownership: str = "sole"  # "explicit" when several agents are configured
    selectionRequired: bool = False
    mainKey: str = "main"
    mainSessionKey: str = "agent:main:main"
    scope: str = "per-sender"


class Snapshot(msgspec.Struct, omit_defaults=True):
    """`presence` and `health` are the cached, already-encoded objects (Raw: no re-encoding)."""

    presence: msgspec.Raw
    health: msgspec.Raw
    stateVersion: dict[str, int]
    uptimeMs: int
    sessionDefaults: SessionDefaults
    configPath: str | None = None  # admin connections only (spec §2.4)
    stateDir: str | None = None
    authMode: str | None = None


class Policy(msgspec.Struct):
    maxPayload: int
    maxBufferedBytes: int
    tickIntervalMs: int


class HelloOk(msgspec.Struct, tag="hello-ok", tag_field="type"):
    protocol: int
    server: ServerInfo
    features: msgspec.Raw  # {"methods": [...], "events": [...]}, cached until the routing table changes
    snapshot: Snapshot
    auth: HelloAuth
    policy: Policy


# --------------------------------------------------------------------------- outbound

_json = msgspec.json.Encoder()
encode = _json.encode


def response_ok(req_id: str | int, payload_bytes: bytes) -> bytes:
    return b'{"type":"res","id":' + _json.encode(req_id) + b',"ok":true,"payload":' + payload_bytes + b"}"


def response_error(req_id: str | int, error: ErrorShape, payload_bytes: bytes | None = None) -> bytes:
    """An error res; a failed `agent` run's final res also carries its payload (`runId`, `status`)."""
    head = b'{"type":"res","id":' + _json.encode(req_id) + b',"ok":false,'
    if payload_bytes is not None and payload_bytes not in (b"", b"null"):
        head += b'"payload":' + payload_bytes + b","
    return head + b'"error":' + error.to_json() + b"}"


def event_prefix(event: str, payload_bytes: bytes, state_version: dict[str, int] | None = None) -> bytes:
    """Everything of an event frame but its per-connection seq; finish with `event_with_seq`."""
    head = b'{"type":"event","event":' + _json.encode(event) + b',"payload":' + payload_bytes
    if state_version is not None:
        head += b',"stateVersion":' + _json.encode(state_version)
    return head + b',"seq":'


def event_with_seq(prefix: bytes, seq: int) -> bytes:
    return prefix + str(seq).encode() + b"}"


def event_unsequenced(event: str, payload: Any) -> bytes:
    """`connect.challenge` carries no seq (nor do events targeted at one connection)."""
    return _json.encode({"type": "event", "event": event, "payload": payload})


def event_targeted(event: str, payload_bytes: bytes) -> bytes:
    """An event sent to one connection only (`node.invoke.request` ...): no seq, as upstream."""
    return b'{"type":"event","event":' + _json.encode(event) + b',"payload":' + payload_bytes + b"}"
