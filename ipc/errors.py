"""The closed set of error codes, shared by WS error frames, HTTP bodies and CLI exit codes."""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(str, enum.Enum):
    INVALID_REQUEST = "INVALID_REQUEST"
    FORBIDDEN = "FORBIDDEN"
    NOT_PAIRED = "NOT_PAIRED"
    UNAVAILABLE = "UNAVAILABLE"
    APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND"


class ExitCode(enum.IntEnum):
    """Process exit codes of `openclaw` (documented in README)."""

    OK = 0
    FAILURE = 1  # runtime failure: port busy, gateway unreachable, RPC error
    USAGE = 2  # bad command line (typer/click)
    CONFIG = 78  # EX_CONFIG: start refused by configuration; do not restart


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

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        if self.retryable is not None:
            out["retryable"] = self.retryable
        if self.retry_after_ms is not None:
            out["retryAfterMs"] = self.retry_after_ms
        return out


def unavailable(message: str, *, retry_after_ms: int = 1000, details: Any = None) -> GatewayError:
    return GatewayError(
        ErrorCode.UNAVAILABLE, message, details=details, retryable=True, retry_after_ms=retry_after_ms
    )


def invalid_request(message: str, *, details: Any = None) -> GatewayError:
    return GatewayError(ErrorCode.INVALID_REQUEST, message, details=details)


class ConfigRefusal(Exception):
    """The gateway refuses to start because of its configuration (exit 78)."""

    exit_code = ExitCode.CONFIG


class StartFailure(Exception):
    """The gateway could not start for a runtime reason (exit 1)."""

    exit_code = ExitCode.FAILURE
