"""`channels.status`: every configured channel account, asked live from its worker (with
`probe:true` each worker checks its link, e.g. Telegram `getMe`), else what the supervisor knows
of it (restarting, FATAL with the reason). Upstream's shape: `channels.<kind>` is the kind's
default account, `channelAccounts.<kind>` lists every account."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import msgspec
from openclaw.ipc.channels_config import (
    DEFAULT_ACCOUNT,
    ChannelAccount,
    channel_accounts,
    label,
)
from openclaw.ipc.errors import GatewayError

from ..caller import Connection
from .params import decode

if TYPE_CHECKING:
    from ..services import Services

DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 30_000


class ChannelsStatusParams(msgspec.Struct, forbid_unknown_fields=True):
    probe: bool | None = None
    timeoutMs: int | None = None
    channel: str | None = None


def _tree_entry(svc: Services, acct: ChannelAccount) -> dict[str, Any]:
    proc = next((p for p in svc.tree.children if p.name == acct.slot), None)
    state = proc.state if proc is not None else "stopped"
    return {
        "accountId": acct.account_id, "enabled": True, "configured": True,
        "running": state in ("running", "replacing"), "connected": False, "linked": False,
        "lifecycle": state, "state": state, "pid": proc.pid if proc else None,
        "restarts": proc.restarts if proc else 0, "lastError": proc.reason if proc else None,
    }


async def _account_status(svc: Services, acct: ChannelAccount, probe: bool, timeout_ms: int) -> dict[str, Any]:
    entry = _tree_entry(svc, acct)
    if not svc.router.is_active(acct.slot):
        return entry
    params = msgspec.json.encode({"probe": probe, "timeoutMs": timeout_ms})
    try:
        raw = await svc.router.ask("channel.status", params, timeout_ms / 1000 + 1.0, slot=acct.slot)
        live = msgspec.json.decode(raw)
    except (GatewayError, msgspec.DecodeError) as exc:
        entry["lastError"] = entry["lastError"] or getattr(exc, "message", str(exc))
        return entry
    if isinstance(live, dict):
        live.pop("kind", None)
        return {**entry, **live, "pid": entry["pid"], "restarts": entry["restarts"], "state": entry["state"]}
    return entry


async def _status(svc: Services, p: ChannelsStatusParams) -> bytes:
    timeout_ms = min(max(p.timeoutMs or DEFAULT_TIMEOUT_MS, 100), MAX_TIMEOUT_MS)
    accounts = [a for a in channel_accounts(svc.settings.config).values() if p.channel in (None, a.kind)]
    entries = await asyncio.gather(*(_account_status(svc, a, bool(p.probe), timeout_ms) for a in accounts))
    by_kind: dict[str, list[tuple[ChannelAccount, dict[str, Any]]]] = {}
    for acct, entry in zip(accounts, entries, strict=True):
        by_kind.setdefault(acct.kind, []).append((acct, entry))
    order = sorted(by_kind)
    channels: dict[str, Any] = {}
    issues: list[dict[str, Any]] = []
    for kind, rows in by_kind.items():
        main = next((e for a, e in rows if a.account_id == DEFAULT_ACCOUNT), rows[0][1])
        channels[kind] = {k: v for k, v in main.items() if k != "accountId"}
        for acct, e in rows:
            if e.get("lastError"):
                issues.append({"channel": kind, "accountId": acct.account_id, "kind": "runtime", "message": e["lastError"]})
    out: dict[str, Any] = {
        "ts": int(time.time() * 1000),
        "channelOrder": order,
        "channelLabels": {k: label(k)[0] for k in order},
        "channelDetailLabels": {k: label(k)[1] for k in order},
        "channelSystemImages": {k: label(k)[2] for k in order},
        "channelMeta": [{"id": k, "label": label(k)[0], "detailLabel": label(k)[1], "systemImage": label(k)[2]} for k in order],
        "eventLoop": svc.loop_monitor.snapshot(),
        "channels": channels,
        "channelAccounts": {k: [e for _, e in by_kind[k]] for k in order},
        "channelDefaultAccountId": {
            k: DEFAULT_ACCOUNT if any(a.account_id == DEFAULT_ACCOUNT for a, _ in by_kind[k]) else by_kind[k][0][0].account_id
            for k in order
        },
        "statusIssues": issues,
    }
    return msgspec.json.encode(out)


def channels_status(svc: Services, conn: Connection, raw: bytes) -> Any:
    return _status(svc, decode(raw, ChannelsStatusParams, "channels.status"))
