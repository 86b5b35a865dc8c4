"""`diagnostics.stability`: the recent process-state changes this front-end saw (a bounded ring),
in upstream's shape; `type` filters by event type."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import msgspec

from ..caller import Connection
from ..tree_view import STABILITY_CAPACITY
from .params import decode

if TYPE_CHECKING:
    from ..services import Services


class StabilityParams(msgspec.Struct, forbid_unknown_fields=True):
    limit: int | None = None
    type: str | None = None


def diagnostics_stability(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = decode(raw, StabilityParams, "diagnostics.stability")
    limit = max(1, min(p.limit or STABILITY_CAPACITY, STABILITY_CAPACITY))
    events = [e for e in svc.tree.stability if p.type is None or e["type"] == p.type][-limit:]
    by_type: dict[str, int] = {}
    for e in events:
        by_type[e["type"]] = by_type.get(e["type"], 0) + 1
    out: dict[str, Any] = {
        "generatedAt": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "capacity": STABILITY_CAPACITY,
        "count": len(events),
        "dropped": max(0, svc.tree.stability_seq - len(svc.tree.stability)),
        "events": events,
        "summary": {"byType": by_type},
    }
    if events:
        out.update(firstSeq=events[0]["seq"], lastSeq=events[-1]["seq"])
    return msgspec.json.encode(out)
