"""The closed set of error codes, shared by WS error frames, HTTP bodies and CLI exit codes.

An error is converted once, where it is raised: `GatewayError.shape()` gives the
`ErrorShape` that crosses the internal sockets unchanged and is spliced into the
client's `res` frame by `frames.response_error`.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

_json = msgspec.json.Encoder()

# What decoding untrusted bytes can raise: msgspec raises RecursionError (not DecodeError) on
# input nested deeper than the interpreter's stack, e.g. 100,000 `[`, and UnicodeDecodeError on
# invalid UTF-8 inside a string. Catch all three, everywhere.
DECODE_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)


class ErrorCode(str, enum.Enum):
    INVALID_REQUEST = "INVALID_REQUEST"
    FORBIDDEN = "FORBIDDEN"
    NOT_PAIRED = "NOT_PAIRED"
    UNAVAILABLE = "UNAVAILABLE"
    APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND"
    AGENT_TIMEOUT = "AGENT_TIMEOUT"  # a run exceeded its timeout (seeds: standard code)
    NOT_LINKED = "NOT_LINKED"  # a channel account is not linked (refused credentials) (seeds: standard code)


class ExitCode(enum.IntEnum):
    """Process exit codes of `openclaw` (documented in README)."""

    OK = 0
    FAILURE = 1  # runtime failure: port busy, gateway unreachable, RPC error
    USAGE = 2  # bad command line (typer/click)
    CONFIG = 78  # EX_CONFIG: start refused by configuration; do not restart


class ErrorShape(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The wire `error` object; `details` is already JSON text so nobody re-encodes it."""

    code: str
    message: str
    details: bytes | None = None
    retryable: bool | None = None
    retryAfterMs: int | None = None

    def to_json(self) -> bytes:
        out = b'{"code":' + _json.encode(self.code) + b',"message":' + _json.encode(self.message)
        if self.details is not None:
            out += b',"details":' + self.details
        if self.retryable is not None:
            out += b',"retryable":' + (b"true" if self.retryable else b"false")
        if self.retryAfterMs is not None:
            out += b',"retryAfterMs":' + str(self.retryAfterMs).encode()
        return out + b"}"


class GatewayError(Exception):
    """An error that becomes an `error` object on the wire."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        details: Any = None,
        retryable: bool | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.retryable = retryable
        self.retry_after_ms = retry_after_ms

    def shape(self) -> ErrorShape:
        return ErrorShape(
            code=self.code.value,
            message=self.message,
            details=None if self.details is None else _json.encode(self.details),
            retryable=self.retryable,
            retryAfterMs=self.retry_after_ms,
        )

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        if self.retryable is not None:
            out["retryable"] = self.retryable
        if self.retry_after_ms is not None:
            out["retryAfterMs"] = self.retry_after_ms
        return out


class ShapedError(GatewayError):
    """An error another process already shaped (supervisor, worker): passed on unchanged."""

    def __init__(self, shape: ErrorShape) -> None:
        try:
            code = ErrorCode(shape.code)
        except ValueError:
            code = ErrorCode.UNAVAILABLE
        super().__init__(code, shape.message)
        self._shape = shape

    def shape(self) -> ErrorShape:
        return self._shape


def unavailable(message: str, *, retry_after_ms: int = 1000, details: Any = None) -> GatewayError:
    return GatewayError(
        ErrorCode.UNAVAILABLE, message, details=details, retryable=True, retry_after_ms=retry_after_ms
    )


def invalid_request(message: str, *, details: Any = None) -> GatewayError:
    return GatewayError(ErrorCode.INVALID_REQUEST, message, details=details)


def internal_error(method: str) -> ErrorShape:
    """What a caller sees when a handler has a bug: retryable, no traceback."""
    return ErrorShape(
        code=ErrorCode.UNAVAILABLE.value, message=f"{method} failed: internal error", retryable=True, retryAfterMs=1000
    )


class ConfigRefusal(Exception):
    """The gateway refuses to start because of its configuration (exit 78)."""

    exit_code = ExitCode.CONFIG


class StartFailure(Exception):
    """The gateway could not start for a runtime reason (exit 1)."""

    exit_code = ExitCode.FAILURE
