"""`send` and `message.action` (what `openclaw message send` calls): deliver through one channel
account's worker, fail fast when it cannot (no fallback path, seed 003).

Which account: `channel` (or the `telegram:` prefix of `to`; the only configured channel when
neither is given) and `accountId` (that channel's default account when absent). Errors:
no channel configured / unknown channel -> INVALID_REQUEST; the account's worker refused its
credentials (FATAL) -> NOT_LINKED; its worker is restarting -> UNAVAILABLE (retryable).
Idempotency on `idempotencyKey` is the channel worker's (workers/channel/send_ledger.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from openclaw.ipc.channels_config import (
    CHANNEL_KINDS,
    DEFAULT_ACCOUNT,
    ChannelAccount,
    channel_accounts,
)
from openclaw.ipc.errors import ErrorCode, GatewayError, invalid_request

from ..caller import Connection
from .params import decode

if TYPE_CHECKING:
    from ..services import Services

SEND_TIMEOUT_S = 60.0  # a send waits out Telegram's 429 retry_after, within reason
MAX_TEXT = 64 * 1024
MAX_BUFFER_B64 = 27 * 1024 * 1024  # ~20 MiB of media
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Short = Annotated[str, msgspec.Meta(max_length=512)]
KNOWN_CHANNELS = (
    "telegram", "webhook", "whatsapp", "discord", "irc", "googlechat", "slack", "signal", "imessage", "feishu", "nostr",
    "msteams", "mattermost", "nextcloud-talk", "matrix", "line", "zalo", "sms", "twitch",
)


class SendParams(msgspec.Struct, forbid_unknown_fields=True):
    to: Short
    idempotencyKey: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    message: Text | None = None
    mediaUrl: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    mediaUrls: Annotated[list[Annotated[str, msgspec.Meta(max_length=4096)]], msgspec.Meta(max_length=10)] | None = None
    buffer: Annotated[str, msgspec.Meta(max_length=MAX_BUFFER_B64)] | None = None
    filename: Short | None = None
    contentType: Short | None = None
    asVoice: bool | None = None
    gifPlayback: bool | None = None
    channel: Short | None = None
    accountId: Short | None = None
    agentId: Short | None = None
    replyToId: Short | None = None
    threadId: Short | None = None
    forceDocument: bool | None = None
    silent: bool | None = None
    parseMode: Short | None = None
    sessionKey: Short | None = None


class MessageActionParams(msgspec.Struct, forbid_unknown_fields=False):
    action: Short
    params: dict[str, Any]
    idempotencyKey: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    channel: Short | None = None
    accountId: Short | None = None
    agentId: Short | None = None


def _split_target(to: str) -> tuple[str | None, str]:
    """`telegram:555001` / `tg:555001` -> ("telegram", "555001"); no known prefix -> (None, to)."""
    kind, sep, rest = to.strip().partition(":")
    kind = {"tg": "telegram"}.get(kind.lower(), kind.lower())
    if sep and kind in KNOWN_CHANNELS:
        return kind, rest.strip()
    return None, to.strip()


def resolve_account(svc: Services, channel: str | None, to: str, account_id: str | None) -> tuple[ChannelAccount, str]:
    """(the account to send through, the target without its channel prefix)."""
    prefix, target = _split_target(to)
    if not target:
        raise invalid_request("invalid send params: to must name a recipient (a chat id, @username or sender id)")
    kind = (channel or prefix or "").strip().lower() or None
    if prefix and kind != prefix:
        raise invalid_request(f"to names the {prefix} channel but channel is {kind}")
    accounts = channel_accounts(svc.settings.config)
    kinds = sorted({a.kind for a in accounts.values()})
    if kind is None:
        if not kinds:
            raise invalid_request(
                "Error: Channel is required (no configured channels detected). Configure a channel "
                "(e.g. channels.telegram) or pass channel."
            )
        if len(kinds) > 1:
            raise invalid_request(f"Error: Channel is required when several channels are configured ({', '.join(kinds)}).")
        kind = kinds[0]
    if kind not in CHANNEL_KINDS and kind not in kinds:
        raise invalid_request(f"unsupported channel: {kind}")
    mine = [a for a in accounts.values() if a.kind == kind]
    if not mine:
        raise invalid_request(f"channel {kind} is not configured (channels.{kind})")
    if account_id:
        found = [a for a in mine if a.account_id == account_id]
        if not found:
            raise invalid_request(f"unknown {kind} account: {account_id} (configured: {', '.join(a.account_id for a in mine)})")
        return found[0], target
    default = [a for a in mine if a.account_id == DEFAULT_ACCOUNT]
    if default or len(mine) == 1:
        return (default or mine)[0], target
    raise invalid_request(f"accountId is required: {kind} has several accounts ({', '.join(a.account_id for a in mine)})")


def _check_up(svc: Services, acct: ChannelAccount) -> None:
    proc = next((p for p in svc.tree.children if p.name == acct.slot), None)
    if proc is not None and proc.state == "fatal":
        raise GatewayError(
            ErrorCode.NOT_LINKED, f"{acct.channel_id} is not linked: {proc.reason or 'its worker gave up'}",
            details={"channel": acct.kind, "accountId": acct.account_id, "reason": proc.reason},
        )
    if not svc.router.is_active(acct.slot):
        raise GatewayError(
            ErrorCode.UNAVAILABLE, f"the {acct.channel_id} channel is restarting; retry shortly", retryable=True,
            retry_after_ms=1000, details={"channel": acct.kind, "accountId": acct.account_id},
        )


async def deliver(svc: Services, acct: ChannelAccount, req: dict[str, Any]) -> dict[str, Any]:
    _check_up(svc, acct)
    raw = await svc.router.ask("channel.send", msgspec.json.encode(req), SEND_TIMEOUT_S, slot=acct.slot)
    result = msgspec.json.decode(raw)
    return result if isinstance(result, dict) else {}


def send(svc: Services, conn: Connection, raw: bytes) -> Any:
    p = decode(raw, SendParams, "send")
    if not (p.message or p.mediaUrl or p.mediaUrls or p.buffer):
        raise invalid_request("invalid send params: message or media (mediaUrl, mediaUrls, buffer) is required")
    acct, target = resolve_account(svc, p.channel, p.to, p.accountId)
    req = {k: v for k, v in msgspec.structs.asdict(p).items() if v is not None}
    req["to"] = target

    async def run() -> bytes:
        result = await deliver(svc, acct, req)
        return msgspec.json.encode({"runId": p.idempotencyKey, "messageId": result.get("messageId"), "channel": acct.kind,
                                    **({"accountId": acct.account_id} if acct.account_id != DEFAULT_ACCOUNT else {})})

    return run()


def message_action(svc: Services, conn: Connection, raw: bytes) -> Any:
    p = decode(raw, MessageActionParams, "message.action")
    if p.action != "send":
        raise invalid_request(f"unsupported message action: {p.action} (this gateway sends only)")
    inner = p.params
    to = inner.get("to") or inner.get("target")
    message = inner.get("message")
    if not isinstance(to, str) or not to:
        raise invalid_request("invalid message.action params: params.target is required")
    if message is not None and not isinstance(message, str):
        raise invalid_request("invalid message.action params: params.message must be a string")
    media = inner.get("media") or inner.get("mediaUrl")
    req: dict[str, Any] = {"to": to, "idempotencyKey": p.idempotencyKey}
    if message:
        req["message"] = message[:MAX_TEXT]
    if isinstance(media, str) and media:
        req["mediaUrl"] = media
    for key in ("replyToId", "threadId", "silent", "forceDocument", "buffer", "filename", "contentType"):
        if inner.get(key) not in (None, False, ""):
            req[key] = inner[key]
    if not (req.get("message") or req.get("mediaUrl") or req.get("buffer")):
        raise invalid_request("invalid message.action params: params.message or params.media is required")
    channel = p.channel or inner.get("channel")
    acct, target = resolve_account(svc, channel if isinstance(channel, str) else None, to,
                                   p.accountId or inner.get("accountId"))
    req["to"] = target
    dry_run = bool(inner.get("dryRun"))

    async def run() -> bytes:  # the delivery result; the upstream CLI prints it as its `payload`
        if dry_run:
            return msgspec.json.encode({"ok": True, "dryRun": True, "chatId": target})
        result = await deliver(svc, acct, req)
        return msgspec.json.encode({"ok": True, "messageId": result.get("messageId"),
                                    "chatId": str(result.get("chatId", target)), "receipt": {}})

    return run()
