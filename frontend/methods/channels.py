"""`channels.status`: every configured channel, from its worker's report and the process tree.
With no channel configured there is no channel process and the answer is the empty shape."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from ..caller import Connection
from ..health_state import channel_entries
from .params import decode

if TYPE_CHECKING:
    from ..services import Services


class ChannelsStatusParams(msgspec.Struct, forbid_unknown_fields=True):
    probe: bool | None = None
    timeoutMs: int | None = None
    channel: str | None = None


def channels_status(svc: Services, conn: Connection, raw: bytes) -> bytes:
    p = decode(raw, ChannelsStatusParams, "channels.status")
    channels = channel_entries(svc.tree, svc.router.fragments())
    if p.channel is not None:
        channels = {k: v for k, v in channels.items() if k == p.channel}
    order = sorted(channels)
    out: dict[str, Any] = {
        "ts": int(time.time() * 1000),
        "channelOrder": order,
        "channelLabels": {cid: cid.capitalize() for cid in order},
        "channelDetailLabels": {},
        "channelSystemImages": {},
        "channelMeta": [{"id": cid, "label": cid.capitalize()} for cid in order],
        "eventLoop": svc.loop_monitor.snapshot(),
        "channels": channels,
        "channelAccounts": {cid: [] for cid in order},
        "channelDefaultAccountId": {},
        "statusIssues": [
            {"channel": cid, "kind": "runtime", "message": c["lastError"]}
            for cid, c in channels.items() if c.get("lastError")
        ],
    }
    return msgspec.json.encode(out)
