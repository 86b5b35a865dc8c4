"""Which channel accounts the config asks for, and each one's effective section.

One channel worker process runs per account: `channels.telegram` is the account "default"
(or, with `channels.telegram.accounts.<id>`, one account per key, the top-level keys being the
defaults each account overrides); `channels.webhook.<id>` is one generic webhook channel per id.
Any other `channels.<id>` runs a placeholder worker that says this build has no such channel.

    channel_id  "telegram" | "telegram:<account>" | "webhook:<id>" | "<other>"
    slot        "channel:" + channel_id   (the worker's name; its title ends in the channel id)

Pure and stdlib-only: the supervisor (which processes exist, what a reload touches), the
front-end (where `send` and a webhook POST go), the workers and the CLI all read it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHANNEL_KINDS = ("telegram", "webhook")
DEFAULT_ACCOUNT = "default"
TELEGRAM_WEBHOOK_PATH = "/telegram-webhook"
WEBHOOK_CHANNEL_PATH = "/channels/webhook"  # + "/<id>" unless the section names its own `path`
LABELS = {"telegram": ("Telegram", "Telegram Bot", "paperplane"), "webhook": ("Webhook", "Generic webhook", "link")}
MAX_TOKEN_FILE_BYTES = 4096


@dataclass(frozen=True)
class ChannelAccount:
    kind: str
    account_id: str
    section: dict[str, Any] = field(default_factory=dict, compare=True, hash=False)

    @property
    def channel_id(self) -> str:
        if self.kind == "telegram":
            return "telegram" if self.account_id == DEFAULT_ACCOUNT else f"telegram:{self.account_id}"
        if self.kind == "webhook":
            return f"webhook:{self.account_id}"
        return self.kind

    @property
    def slot(self) -> str:
        return f"channel:{self.channel_id}"


def label(kind: str) -> tuple[str, str, str]:
    """(label, detail label, system image) as upstream's channels.status names them."""
    return LABELS.get(kind, (kind.capitalize(), kind.capitalize(), "bubble.left"))


def _telegram_accounts(section: dict[str, Any]) -> list[ChannelAccount]:
    if section.get("enabled") is False:
        return []
    base = {k: v for k, v in section.items() if k != "accounts"}
    accounts = section.get("accounts")
    out: list[ChannelAccount] = []
    if isinstance(accounts, dict) and accounts:
        has_own = any(base.get(k) for k in ("botToken", "tokenFile"))
        if has_own and DEFAULT_ACCOUNT not in accounts:
            out.append(ChannelAccount("telegram", DEFAULT_ACCOUNT, base))
        for acct_id in sorted(accounts):
            acct = accounts[acct_id]
            if not isinstance(acct, dict) or acct.get("enabled") is False:
                continue
            out.append(ChannelAccount("telegram", str(acct_id), {**base, **acct}))
    else:
        out.append(ChannelAccount("telegram", DEFAULT_ACCOUNT, base))
    return out


def channel_accounts(config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, ChannelAccount]:
    """Every enabled channel account by channel id, in a stable order (none with OPENCLAW_SKIP_CHANNELS)."""
    if (os.environ if env is None else env).get("OPENCLAW_SKIP_CHANNELS") not in (None, "", "0"):
        return {}
    channels = config.get("channels")
    if not isinstance(channels, dict):
        return {}
    found: list[ChannelAccount] = []
    for cid in sorted(channels):
        section = channels[cid]
        if not isinstance(section, dict):
            continue
        if cid == "telegram":
            found.extend(_telegram_accounts(section))
        elif cid == "webhook":
            for hook_id in sorted(section):
                hook = section[hook_id]
                if isinstance(hook, dict) and hook.get("enabled") is not False:
                    found.append(ChannelAccount("webhook", str(hook_id), hook))
        elif section.get("enabled") is not False:
            found.append(ChannelAccount(cid, DEFAULT_ACCOUNT, section))
    return {a.channel_id: a for a in found}


def account_for(channel_id: str, config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> ChannelAccount | None:
    return channel_accounts(config, env).get(channel_id)


def kind_of(channel_id: str) -> str:
    return channel_id.split(":", 1)[0]


def telegram_token(section: Mapping[str, Any], account_id: str, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(token, source): tokenFile > botToken > TELEGRAM_BOT_TOKEN (default account only).
    A token file that cannot be read gives (None, "file")."""
    token_file = section.get("tokenFile")
    if isinstance(token_file, str) and token_file.strip():
        try:
            path = Path(token_file).expanduser()
            with path.open("rb") as fh:
                text = fh.read(MAX_TOKEN_FILE_BYTES).decode("utf-8", "replace").strip()
        except OSError:
            return None, "file"
        return (text or None), "file"
    token = section.get("botToken")
    if isinstance(token, str) and token.strip():
        return token.strip(), "config"
    if account_id == DEFAULT_ACCOUNT:
        value = (os.environ if env is None else env).get("TELEGRAM_BOT_TOKEN", "").strip()
        if value:
            return value, "env"
    return None, None


def telegram_webhook_path(section: Mapping[str, Any], account_id: str) -> str | None:
    """The path the front-end serves for this account's webhook (None in polling mode)."""
    if not section.get("webhookUrl"):
        return None
    path = section.get("webhookPath")
    if isinstance(path, str) and path.startswith("/"):
        return path
    return TELEGRAM_WEBHOOK_PATH if account_id == DEFAULT_ACCOUNT else f"{TELEGRAM_WEBHOOK_PATH}/{account_id}"


def webhook_channel_path(section: Mapping[str, Any], hook_id: str) -> str:
    path = section.get("path")
    if isinstance(path, str) and path.startswith("/"):
        return path
    return f"{WEBHOOK_CHANNEL_PATH}/{hook_id}"


def inbound_paths(config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, ChannelAccount]:
    """HTTP path -> the account whose inbound POSTs it takes (Telegram webhook mode, webhook channels)."""
    out: dict[str, ChannelAccount] = {}
    for acct in channel_accounts(config, env).values():
        path = inbound_path(acct)
        if path is not None:
            out.setdefault(path, acct)
    return out


def inbound_path(acct: ChannelAccount) -> str | None:
    if acct.kind == "telegram":
        return telegram_webhook_path(acct.section, acct.account_id)
    if acct.kind == "webhook":
        return webhook_channel_path(acct.section, acct.account_id)
    return None


def inbound_secret(acct: ChannelAccount) -> str | None:
    """The shared secret an inbound POST must present (None: the channel is misconfigured; refuse all)."""
    key = "webhookSecret" if acct.kind == "telegram" else "secret"
    value = acct.section.get(key)
    return value if isinstance(value, str) and value else None
