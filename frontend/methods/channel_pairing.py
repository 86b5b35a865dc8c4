"""`channels.pairing.list / approve / dismiss`: the DM pairing requests of the channels (spec §6.4),
read from and written to the same store the channel workers and `openclaw pairing` use
(ipc/channel_pairing.py; SQLite, run off the event loop). `approve` with `notify` tells the
sender through the channel, as upstream ("✅ OpenClaw access approved. …")."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from openclaw.ipc.channel_pairing import ChannelPairingStore, PairingKeyError
from openclaw.ipc.channels_config import DEFAULT_ACCOUNT, channel_accounts, label
from openclaw.ipc.errors import GatewayError, invalid_request

from ..caller import Connection
from .params import decode
from .send import deliver

if TYPE_CHECKING:
    from ..services import Services

APPROVED_TEXT = "✅ OpenClaw access approved. Send a message to start chatting."
PENDING_PER_ACCOUNT, TTL_MS = 3, 3_600_000
Short = Annotated[str, msgspec.Meta(max_length=256)]


class ListParams(msgspec.Struct, forbid_unknown_fields=True):
    channel: Short | None = None
    accountId: Short | None = None


class ResolveParams(msgspec.Struct, forbid_unknown_fields=True):
    channel: Short
    requestId: Short
    accountId: Short | None = None
    notify: bool | None = None
    bootstrapCommandOwner: bool | None = None


def _store(svc: Services) -> ChannelPairingStore:
    return ChannelPairingStore(Path(svc.settings.gateway.state_dir))


def _owner_configured(config: dict[str, Any]) -> bool:
    commands = config.get("commands") if isinstance(config.get("commands"), dict) else {}
    return bool(commands.get("ownerAllowFrom"))


def channels_pairing_list(svc: Services, conn: Connection, raw: bytes) -> Any:
    p = decode(raw, ListParams, "channels.pairing.list")

    async def run() -> bytes:
        try:
            rows = await asyncio.to_thread(_store(svc).list_requests, p.channel, p.accountId)
        except PairingKeyError as exc:
            raise invalid_request(str(exc)) from None
        accounts = [a for a in channel_accounts(svc.settings.config).values()
                    if a.kind == "telegram" and p.channel in (None, a.kind) and p.accountId in (None, a.account_id)]
        return msgspec.json.encode({
            "accounts": [{"channel": a.kind, "channelLabel": label(a.kind)[0], "accountId": a.account_id,
                          "notifySupported": True} for a in accounts],
            "requests": [{
                "requestId": r["requestId"], "channel": r["channel"], "channelLabel": label(r["channel"])[0],
                "accountId": r["accountId"], "senderId": r["id"], "senderLabel": f"{r['channel']}UserId",
                "metadata": {k: v for k, v in (r.get("meta") or {}).items() if k != "accountId"},
                "createdAt": r["createdAt"], "lastSeenAt": r["lastSeenAt"], "expiresAt": r["expiresAt"],
                "notifySupported": True,
            } for r in rows],
            "commandOwnerConfigured": _owner_configured(svc.settings.config),
            "limits": {"pendingPerAccount": PENDING_PER_ACCOUNT, "ttlMs": TTL_MS},
        })

    return run()


def _resolve(svc: Services, raw: bytes, method: str, approve: bool) -> Any:
    p = decode(raw, ResolveParams, method)

    async def run() -> bytes:
        store = _store(svc)
        act = store.approve_request if approve else store.dismiss
        try:
            found = await asyncio.to_thread(act, p.channel, p.accountId, p.requestId)
        except PairingKeyError as exc:
            raise invalid_request(str(exc)) from None
        if found is None:
            raise invalid_request(f"no pending {p.channel} pairing request {p.requestId} (expired or already resolved)")
        if not approve:
            return msgspec.json.encode({"requestId": p.requestId, "senderId": found["senderId"]})
        notification = "not-requested"
        if p.notify:
            notification = await _notify(svc, p.channel, found.get("accountId") or DEFAULT_ACCOUNT, found["senderId"])
        return msgspec.json.encode({"requestId": p.requestId, "senderId": found["senderId"],
                                    "notification": notification, "commandOwnerBootstrap": "not-requested"})

    return run()


async def _notify(svc: Services, channel: str, account_id: str, sender_id: str) -> str:
    acct = next((a for a in channel_accounts(svc.settings.config).values()
                 if a.kind == channel and a.account_id == account_id), None)
    if acct is None:
        return "failed"
    try:
        await deliver(svc, acct, {"to": str(sender_id), "message": APPROVED_TEXT, "idempotencyKey": str(uuid.uuid4())})
    except GatewayError:
        return "failed"
    return "sent"


def channels_pairing_approve(svc: Services, conn: Connection, raw: bytes) -> Any:
    return _resolve(svc, raw, "channels.pairing.approve", approve=True)


def channels_pairing_dismiss(svc: Services, conn: Connection, raw: bytes) -> Any:
    return _resolve(svc, raw, "channels.pairing.dismiss", approve=False)
