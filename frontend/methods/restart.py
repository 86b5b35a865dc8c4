"""`gateway.restart.request` (upstream's name) and `gateway.restart` (the seeds' name): an
acknowledged in-process restart, done by the supervisor. `commands.restart: false` refuses them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from openclaw.ipc.errors import DECODE_ERRORS, ShapedError, unavailable

from ..caller import Connection

if TYPE_CHECKING:
    from ..services import Services


async def restart_request(svc: Services, conn: Connection, raw: bytes) -> bytes:
    reason = "gateway.restart.request"
    if raw:
        try:
            params: Any = msgspec.json.decode(raw)
        except DECODE_ERRORS:
            params = None
        if isinstance(params, dict) and isinstance(params.get("reason"), str):
            reason = params["reason"][:200]
    ack = await svc.supervisor.restart(reason)
    if ack.error is not None:
        raise ShapedError(ack.error)
    if not ack.accepted:
        raise unavailable(
            "a restart or stop is already in progress", retry_after_ms=1500, details={"reason": "gateway-restarting"}
        )
    out = {
        "ok": True,
        "status": "scheduled",
        "preflight": {"safe": True, "blockers": [], "summary": "safe to restart now"},
        "restart": {
            "ok": True, "pid": svc.settings.supervisor_pid, "signal": "SIGUSR1", "reason": reason,
            "mode": "supervisor", "delayMs": ack.delay_ms, "coalesced": False, "generation": ack.generation,
        },
    }
    return msgspec.json.encode(out)
