"""The typed config of the channels this gateway runs: `channels.telegram` (upstream's keys; the
ones this build reads are typed, the rest of upstream's accepted and ignored) and the generic
`channels.webhook.<id>`. `check()` adds the rules a type cannot say (a policy that needs an
allowlist, a webhook without its secret, two channels on one path)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from .channels_config import DEFAULT_ACCOUNT, channel_accounts, inbound_path

ACCOUNT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # also a file name (spool, send ledger)
MIN_SECRET_CHARS = 16
TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
ACCOUNT_ID_RULE = "account ids are lowercase letters, digits, '-' and '_' (max 32)"
TextChunkLimit = Annotated[int, msgspec.Meta(ge=64, le=4096)]
Id = str | int
DM_POLICIES = ("pairing", "allowlist", "open", "disabled")
GROUP_POLICIES = ("allowlist", "open", "disabled")


class TelegramGroup(msgspec.Struct, omit_defaults=True):
    requireMention: bool | None = None
    enabled: bool | None = None
    allowFrom: list[Id] | None = None
    tools: Any = None
    toolsBySender: Any = None
    topics: Any = None
    systemPrompt: str | None = None


class TelegramAccount(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    enabled: bool | None = None
    name: str | None = None
    botToken: str | None = None
    tokenFile: str | None = None
    apiRoot: str | None = None
    dmPolicy: Literal["pairing", "allowlist", "open", "disabled"] | None = None
    allowFrom: list[Id] | None = None
    groupPolicy: Literal["allowlist", "open", "disabled"] | None = None
    groupAllowFrom: list[Id] | None = None
    groups: dict[str, TelegramGroup] | None = None
    webhookUrl: str | None = None
    webhookSecret: str | None = None
    webhookPath: str | None = None
    webhookHost: str | None = None
    webhookPort: int | None = None
    webhookCertPath: str | None = None
    textChunkLimit: TextChunkLimit | None = None
    replyToMode: Literal["off", "first", "all", "batched"] | None = None
    markdown: dict[str, Any] | None = None
    mediaMaxMb: Annotated[float, msgspec.Meta(gt=0, le=2000)] | None = None
    responsePrefix: str | None = None
    defaultTo: Id | None = None
    # upstream keys this build accepts and does not act on
    ackReaction: Any = None
    actions: Any = None
    autoTopicLabel: Any = None
    capabilities: Any = None
    commands: Any = None
    configWrites: Any = None
    contextVisibility: Any = None
    customCommands: Any = None
    direct: Any = None
    dmHistoryLimit: Any = None
    dms: Any = None
    errorPolicy: Any = None
    execApprovals: Any = None
    healthMonitor: Any = None
    heartbeatVisibility: Any = None
    historyLimit: Any = None
    joinIntro: Any = None
    linkPreview: Any = None
    mentionPatterns: Any = None
    network: Any = None
    proxy: Any = None
    reactionLevel: Any = None
    reactionNotifications: Any = None
    richMessages: Any = None
    silentErrorReplies: Any = None
    streaming: Any = None
    threadBindings: Any = None
    trustedLocalFileRoots: Any = None


class Telegram(TelegramAccount, omit_defaults=True, forbid_unknown_fields=True):
    accounts: dict[str, TelegramAccount] | None = None
    defaultAccount: str | None = None


class WebhookChannel(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    enabled: bool | None = None
    secret: str | None = None  # inbound POSTs present it (Authorization: Bearer, or X-OpenClaw-Webhook-Secret)
    replyUrl: str | None = None  # replies and `send` are POSTed here as JSON
    replyHeaders: dict[str, str] | None = None
    path: str | None = None  # default /channels/webhook/<id>
    agentId: str | None = None
    dmPolicy: Literal["allowlist", "open", "disabled"] | None = None
    allowFrom: list[Id] | None = None
    timeoutMs: Annotated[int, msgspec.Meta(ge=100, le=120_000)] | None = None


class Generic(msgspec.Struct, omit_defaults=True):
    """A channel kind this build does not run: only the shared keys are read."""

    enabled: bool | None = None
    botToken: str | None = None
    tokenFile: str | None = None


def section_type(kind: str) -> type[msgspec.Struct] | None:
    return {"telegram": Telegram, "webhook": None}.get(kind, Generic)


def _url_error(path: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return {"path": path, "message": "must be an http(s) URL"}
    return None


def _telegram_rules(prefix: str, acct: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    policy = acct.get("dmPolicy", "pairing")
    allow = acct.get("allowFrom") or []
    if policy == "allowlist" and not allow:
        errors.append({"path": f"{prefix}.allowFrom", "message": 'dmPolicy "allowlist" needs at least one allowFrom entry'})
    if policy == "open" and "*" not in [str(a) for a in allow]:
        errors.append({"path": f"{prefix}.allowFrom", "message": 'dmPolicy "open" needs allowFrom: ["*"]'})
    if acct.get("webhookUrl") and not acct.get("webhookSecret"):
        errors.append({"path": f"{prefix}.webhookSecret", "message": "required with webhookUrl (Telegram sends it back)"})
    elif acct.get("webhookSecret") is not None and not TELEGRAM_SECRET.match(str(acct.get("webhookSecret"))):
        errors.append({"path": f"{prefix}.webhookSecret",
                       "message": "16-256 characters of A-Z, a-z, 0-9, _ and - (what Telegram accepts; guessable otherwise)"})
    for key in ("apiRoot", "webhookUrl"):
        err = _url_error(f"{prefix}.{key}", acct.get(key))
        if err:
            errors.append(err)
    path = acct.get("webhookPath")
    if path is not None and not (isinstance(path, str) and path.startswith("/") and len(path) <= 200):
        errors.append({"path": f"{prefix}.webhookPath", "message": "must start with / (at most 200 characters)"})
    return errors


def _account_path(account_id: str) -> str:
    return "channels.telegram" if account_id == DEFAULT_ACCOUNT else f"channels.telegram.accounts.{account_id}"


def _telegram_accounts_rules(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each Telegram account's effective section (top-level defaults + its own keys), and what two
    accounts must not share: a bot (one getUpdates consumer per bot) or a webhook URL."""
    errors: list[dict[str, Any]] = []
    tokens: dict[str, str] = {}
    hooks: dict[str, str] = {}
    for acct in channel_accounts(data, {}).values():
        if acct.kind != "telegram":
            continue
        prefix = _account_path(acct.account_id)
        section = acct.section
        errors.extend(_telegram_rules(prefix, section))
        token_file = section.get("tokenFile")
        if isinstance(token_file, str) and token_file.strip() and not os.access(Path(token_file).expanduser(), os.R_OK):
            errors.append({"path": f"{prefix}.tokenFile", "message": f"{token_file} is not a readable file"})
        token = section.get("tokenFile") or section.get("botToken")
        if isinstance(token, str) and token.strip():
            other = tokens.setdefault(token.strip(), acct.account_id)
            if other != acct.account_id:
                errors.append({"path": prefix, "message": f"uses the same bot as account {other} (one poller per bot)"})
        url = section.get("webhookUrl")
        if isinstance(url, str) and url:
            other = hooks.setdefault(url, acct.account_id)
            if other != acct.account_id:
                errors.append({"path": f"{prefix}.webhookUrl", "message": f"the same webhookUrl as account {other}"})
    return errors


def check(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors ({path, message}) beyond the types, for the channel kinds this build runs."""
    channels = data.get("channels")
    if not isinstance(channels, dict):
        return []
    errors: list[dict[str, Any]] = []
    tg = channels.get("telegram")
    if isinstance(tg, dict) and isinstance(tg.get("accounts"), dict):
        errors.extend({"path": f"channels.telegram.accounts.{a}", "message": ACCOUNT_ID_RULE}
                      for a in tg["accounts"] if not ACCOUNT_ID.match(str(a)))
    if isinstance(tg, dict) and tg.get("enabled") is not False:
        errors.extend(_telegram_accounts_rules(data))
    hooks = channels.get("webhook")
    if isinstance(hooks, dict):
        for hook_id, hook in hooks.items():
            prefix = f"channels.webhook.{hook_id}"
            if not ACCOUNT_ID.match(str(hook_id)):
                errors.append({"path": prefix, "message": ACCOUNT_ID_RULE})
                continue
            if not isinstance(hook, dict):
                errors.append({"path": prefix, "message": "expected object"})
                continue
            try:
                msgspec.convert(hook, WebhookChannel, strict=True)
            except msgspec.ValidationError as exc:
                errors.append({"path": prefix, "message": str(exc), "raw": True})
                continue
            if hook.get("enabled") is not False and not hook.get("secret"):
                errors.append({"path": f"{prefix}.secret", "message": "required: inbound POSTs must present it"})
            elif hook.get("secret") and len(hook["secret"]) < MIN_SECRET_CHARS:
                errors.append({"path": f"{prefix}.secret", "message": f"at least {MIN_SECRET_CHARS} characters (guessable otherwise)"})
            err = _url_error(f"{prefix}.replyUrl", hook.get("replyUrl"))
            if err:
                errors.append(err)
            p = hook.get("path")
            if p is not None and not (isinstance(p, str) and p.startswith("/") and len(p) <= 200):
                errors.append({"path": f"{prefix}.path", "message": "must start with / (at most 200 characters)"})
    counts: dict[str, list[str]] = {}
    for acct in channel_accounts(data, {}).values():
        path = inbound_path(acct)
        if path is not None:
            counts.setdefault(path, []).append(acct.channel_id)
    for path, owners in counts.items():
        if len(owners) > 1:
            errors.append({"path": "channels", "message": f"{' and '.join(owners)} both take inbound POSTs on {path}"})
        if path.startswith(("/v1/", "/tools/", "/hooks", "/health", "/ready", "/__openclaw__")) or path in ("/", "/v1"):
            errors.append({"path": "channels", "message": f"{owners[0]}: inbound path {path} is one of the gateway's own"})
    return errors
