"""`gateway.restart.request`: an acknowledged in-process restart, done by the supervisor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc.errors import unavailable

if TYPE_CHECKING:
    from ..context import Frontend
    from ..ws.session import Session


async def restart_request(fe: Frontend, session: Session, raw: bytes) -> bytes:
    reason = "gateway.restart.request"
    if raw:
        try:
            params: Any = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            params = None
        if isinstance(params, dict) and isinstance(params.get("reason"), str):
            reason = params["reason"][:200]
    ack = await fe.supervisor.restart(reason)
    if not ack.accepted:
        raise unavailable("a restart or stop is already in progress", retry_after_ms=1500, details={"reason": "gateway-restarting"})
    out = {
        "ok": True,
        "status": "scheduled",
        "restart": {
            "ok": True, "pid": fe.cfg.supervisor_pid, "signal": "SIGUSR1", "reason": reason,
            "mode": "supervisor", "delayMs": ack.delay_ms, "coalesced": False, "generation": ack.generation,
        },
    }
    return msgspec.json.encode(out)
