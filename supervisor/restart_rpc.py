"""What refuses a restart request outright (before any coalescing): restarts disabled by config,
or a `target` that names another gateway. Answered INVALID_REQUEST; nothing restarts."""

from __future__ import annotations

import msgspec

from openclaw.ipc import control
from openclaw.ipc.errors import ErrorCode, ErrorShape

DISABLED = ErrorShape(
    code=ErrorCode.INVALID_REQUEST.value,
    message="gateway restart is disabled by config (commands.restart is false)",
    details=b'{"code":"RESTART_DISABLED","key":"commands.restart"}',
)


def refusal(
    msg: control.RestartRequest, allowed: bool, our_pids: set[int], supervisor_pid: int, port: int
) -> ErrorShape | None:
    """`our_pids`: the supervisor and the front-end (the one on the port), either may be named."""
    if not allowed:
        return DISABLED
    if msg.target_pid is None and msg.target_port is None:
        return None
    if msg.target_pid in our_pids and msg.target_port == port:
        return None
    return ErrorShape(
        code=ErrorCode.INVALID_REQUEST.value,
        message=(
            f"gateway.restart.request target is another gateway (pid {msg.target_pid}, port {msg.target_port}); "
            f"this one is pid {supervisor_pid} on port {port}: nothing restarted"
        ),
        details=msgspec.json.encode({"code": "RESTART_TARGET_MISMATCH", "pid": supervisor_pid, "port": port}),
    )
