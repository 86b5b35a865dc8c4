"""Judge the first frame (`connect`) and build `hello-ok` (spec §2.3 order of checks).

1. a `req` frame whose method is `connect`, params matching the closed schema;
2. a protocol range containing 4 (3 for probe/node clients);
3. role; then who the client is (frontend/auth/connect.py); then hello-ok.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from openclaw.ipc import frames
from openclaw.ipc.errors import DECODE_ERRORS, ErrorCode, GatewayError
from openclaw.ipc.version import LEGACY_PROTOCOL_VERSION, PROTOCOL_VERSION

from ..auth.connect import ConnectContext, ConnectRefused, authenticate
from ..caller import Connection
from .hello import hello_payload

if TYPE_CHECKING:
    from ..services import Services

class HandshakeRejected(Exception):
    def __init__(self, response: bytes | None, close_code: int, reason: str) -> None:
        super().__init__(reason)
        self.response = response
        self.close_code = close_code
        self.reason = reason


def _reject(req_id: Any, code: ErrorCode, message: str, close_code: int = 1008, details: Any = None, reason: str | None = None) -> HandshakeRejected:
    error = GatewayError(code, message, details=details).shape()
    return HandshakeRejected(frames.response_error(req_id, error), close_code, reason if reason is not None else message)


def parse_connect(data: bytes) -> tuple[Any, frames.ConnectParams, str, int]:
    """Steps 1-2 and the role: (request id, params, role, negotiated protocol), or HandshakeRejected."""
    try:
        raw = frames.any_decoder.decode(data)
    except DECODE_ERRORS:
        raise HandshakeRejected(None, 1000, "") from None
    if not isinstance(raw, dict) or raw.get("type") != "req":
        raise HandshakeRejected(None, 1008, "invalid request frame")
    try:
        req = frames.request_decoder.decode(data)
    except DECODE_ERRORS:
        raise HandshakeRejected(None, 1008, "invalid request frame") from None
    if req.method != "connect":
        raise _reject(req.id, ErrorCode.INVALID_REQUEST, "invalid handshake: first request must be connect")
    params = _decode_params(req)
    _check_protocol(req.id, params)
    role = params.role or "operator"
    if role not in ("operator", "node"):
        raise _reject(req.id, ErrorCode.INVALID_REQUEST, f"unauthorized role: {role}")
    negotiated = PROTOCOL_VERSION if params.minProtocol <= PROTOCOL_VERSION <= params.maxProtocol else LEGACY_PROTOCOL_VERSION
    return req.id, params, role, negotiated


async def accept_connect(svc: Services, session: Connection, ctx: ConnectContext, data: bytes) -> tuple[bytes, frames.ConnectParams]:
    """The hello-ok response frame (and the params it answered), or HandshakeRejected."""
    req_id, params, role, negotiated = parse_connect(data)
    try:
        grant = await authenticate(svc, ctx, params, role)
    except ConnectRefused as refused:
        raise HandshakeRejected(frames.response_error(req_id, refused.error.shape()), refused.close_code, refused.close_reason) from None
    session.client = params.client
    session.principal = grant.principal
    session.secret_digest = grant.secret_digest
    return frames.response_ok(req_id, hello_payload(svc, session, negotiated, grant)), params


def _decode_params(req: frames.RequestFrame) -> frames.ConnectParams:
    raw = bytes(req.params)
    if not raw:
        raise _reject(req.id, ErrorCode.INVALID_REQUEST, "invalid connect params: must have required property 'params'")
    try:
        params = frames.connect_params_decoder.decode(raw)
    except DECODE_ERRORS as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else _schema_text(str(exc))
        raise _reject(req.id, ErrorCode.INVALID_REQUEST, f"invalid connect params: {why}") from None
    problem = frames.validate_connect_params(params)
    if problem:
        raise _reject(req.id, ErrorCode.INVALID_REQUEST, f"invalid connect params: {problem}")
    return params


def _schema_text(msgspec_error: str) -> str:
    """msgspec says `... - at `$.client.id``; the upstream wording says `at /client/id: ...`."""
    text, sep, where = msgspec_error.partition(" - at `")
    path = where.rstrip("`").removeprefix("$").replace(".", "/").replace("[", "/").replace("]", "") if sep else ""
    text = text.replace("Object missing required field", "must have required property").replace(
        "Object contains unknown field", "must NOT have additional properties:"
    )
    return f"at {path or '/'}: {text}"


def _check_protocol(req_id: Any, params: frames.ConnectParams) -> None:
    lo, hi = params.minProtocol, params.maxProtocol
    if lo <= PROTOCOL_VERSION <= hi:
        return
    legacy_ok = params.client.mode in ("probe", "node") or params.role == "node"
    if legacy_ok and lo <= LEGACY_PROTOCOL_VERSION <= hi:
        return
    details = {
        "code": "PROTOCOL_MISMATCH",
        "clientMinProtocol": lo,
        "clientMaxProtocol": hi,
        "expectedProtocol": PROTOCOL_VERSION,
        "minimumProbeProtocol": LEGACY_PROTOCOL_VERSION,
    }
    raise _reject(req_id, ErrorCode.INVALID_REQUEST, "protocol mismatch", close_code=1002, details=details)
