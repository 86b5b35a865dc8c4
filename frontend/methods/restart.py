"""`gateway.restart.request` (upstream's name) and `gateway.restart` (the seeds' name): an
acknowledged in-process restart, done by the supervisor. `commands.restart: false` refuses them.

Params are a loose object (unknown keys tolerated) whose known keys must have their types:
`reason?` string, `skipDeferral?` / `safe?` booleans, `target?{pid, ownerId, port}`,
`restartIntent?{force?, waitMs?, drainBudgetMs?}`. A `target` must name this gateway (its
supervisor's or its front-end's pid, and its port) or nothing restarts. Requests while a
restart is under way or within the restart cooldown are coalesced (supervisor/restart_gate.py):
`status` and `restart.coalesced` say so, `restart.generation` is the generation that serves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec

from openclaw.ipc.errors import ShapedError, invalid_request, unavailable

from ..caller import Connection
from .params import decode

if TYPE_CHECKING:
    from ..services import Services

METHOD = "gateway.restart.request"
DEFAULT_REASON = "gateway.restart.safe"  # upstream's, when the caller gives none
MAX_REASON = 200
MAX_WAIT_MS = 2_147_000_000
Pid = Annotated[int, msgspec.Meta(gt=0)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
WaitMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_WAIT_MS)]
COUNTS = ("queueSize", "pendingReplies", "embeddedRuns", "cronRuns", "backgroundExecSessions", "rootRequests",
          "activeTasks", "totalActive")


class RestartTarget(msgspec.Struct):
    pid: Pid
    ownerId: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    port: Port


class RestartIntent(msgspec.Struct):
    force: bool | None = None
    waitMs: WaitMs | None = None
    drainBudgetMs: WaitMs | None = None


class RestartParams(msgspec.Struct):
    reason: str | None = None
    skipDeferral: bool | None = None
    safe: bool | None = None
    target: RestartTarget | None = None
    restartIntent: RestartIntent | None = None


def parse(raw: bytes) -> RestartParams:
    p = decode(raw, RestartParams, METHOD)
    bad = f"invalid {METHOD} params"
    if p.target is not None and not p.target.ownerId.strip():
        raise invalid_request(f"{bad}: at /target/ownerId: must not be blank")
    intent = p.restartIntent
    if intent is not None:
        if intent.force and intent.waitMs is not None:
            raise invalid_request(f"{bad}: at /restartIntent: waitMs cannot be combined with force (use drainBudgetMs)")
        if not intent.force and intent.drainBudgetMs is not None:
            raise invalid_request(f"{bad}: at /restartIntent: drainBudgetMs needs force: true (use waitMs)")
        if p.safe:
            raise invalid_request(f"{bad}: a safe restart does not accept restartIntent")
    return p


async def restart_request(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = parse(raw)
    reason = (p.reason or "").strip()[:MAX_REASON] or DEFAULT_REASON
    target = p.target
    ack = await svc.supervisor.restart(
        reason, target.pid if target else None, target.port if target else None
    )
    if ack.error is not None:
        raise ShapedError(ack.error)
    if not ack.accepted:
        raise unavailable("the gateway is stopping", retry_after_ms=1500, details={"reason": "gateway-stopping"})
    pid = target.pid if target else svc.settings.supervisor_pid  # the pid the caller named is the one acknowledged
    out: dict[str, object] = {
        "ok": True,
        "status": "coalesced" if ack.coalesced else "scheduled",
        "preflight": {
            "safe": True, "counts": dict.fromkeys(COUNTS, 0), "blockers": [], "summary": "safe to restart now",
        },
        "restart": {
            "ok": True, "pid": pid, "signal": "SIGUSR2", "reason": reason, "mode": "supervisor",
            "cooldownMsApplied": ack.cooldown_ms, "delayMs": ack.delay_ms, "coalesced": ack.coalesced,
            "emitHooksQueued": False, "generation": ack.generation,
        },
    }
    if target is not None:
        out["pid"] = pid  # upstream's targeted acknowledgement carries it at the top
    return msgspec.json.encode(out)
