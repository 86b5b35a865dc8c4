"""Which channel accounts a config asks for, their tokens and inbound paths, and the channel config checks."""

from __future__ import annotations

from pathlib import Path

from openclaw.ipc.channels_config import channel_accounts, inbound_paths, telegram_token
from openclaw.ipc.config_schema import validate


def test_accounts_slots_and_effective_sections() -> None:
    cfg = {"channels": {
        "telegram": {"botToken": "t", "dmPolicy": "open", "accounts": {"work": {"botToken": "w"}, "off": {"enabled": False}}},
        "webhook": {"crm": {"secret": "s" * 16}, "old": {"secret": "s" * 16, "enabled": False}},
        "discord": {},
    }}
    accts = channel_accounts(cfg, {})
    assert list(accts) == ["discord", "telegram", "telegram:work", "webhook:crm"]
    assert accts["telegram:work"].slot == "channel:telegram:work"
    assert accts["telegram:work"].section == {"botToken": "w", "dmPolicy": "open"}  # the top level are defaults
    assert "accounts" not in accts["telegram"].section
    # accounts only (no top-level token): no implicit default account
    assert list(channel_accounts({"channels": {"telegram": {"accounts": {"a": {"botToken": "x"}}}}}, {})) == ["telegram:a"]
    assert channel_accounts({"channels": {"telegram": {"enabled": False, "botToken": "x"}}}, {}) == {}
    assert channel_accounts(cfg, {"OPENCLAW_SKIP_CHANNELS": "1"}) == {}


def test_token_precedence(tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text(" from-file \n")
    env = {"TELEGRAM_BOT_TOKEN": "from-env"}
    assert telegram_token({"tokenFile": str(f), "botToken": "cfg"}, "default", env) == ("from-file", "file")
    assert telegram_token({"botToken": "cfg"}, "default", env) == ("cfg", "config")
    assert telegram_token({}, "default", env) == ("from-env", "env")
    assert telegram_token({}, "work", env) == (None, None)  # the env token is the default account's only
    assert telegram_token({"tokenFile": str(tmp_path / "missing")}, "default", env) == (None, "file")


def test_inbound_paths() -> None:
    cfg = {"channels": {
        "telegram": {"botToken": "t", "webhookUrl": "https://x/telegram-webhook", "webhookSecret": "s" * 16,
                     "accounts": {"work": {"botToken": "w", "webhookUrl": "https://x/w", "webhookSecret": "s" * 16},
                                  "poll": {"botToken": "p", "webhookUrl": None}}},
        "webhook": {"crm": {"secret": "s" * 16}, "ops": {"secret": "s" * 16, "path": "/in/ops"}},
    }}
    paths = {p: a.channel_id for p, a in inbound_paths(cfg, {}).items()}
    assert paths == {"/telegram-webhook": "telegram", "/telegram-webhook/work": "telegram:work",
                     "/channels/webhook/crm": "webhook:crm", "/in/ops": "webhook:ops"}


def errors_of(cfg: dict) -> list[str]:
    return [f"{e['path']}: {e['message']}" for e in validate(cfg)[0]]


def test_channel_config_errors_name_the_key() -> None:
    assert errors_of({"channels": {"telegram": {"botToken": "t", "nope": 1}}}) == ["channels.telegram.nope: unknown key"]
    assert errors_of({"channels": {"telegram": {"dmPolicy": "allowlist"}}}) == [
        'channels.telegram.allowFrom: dmPolicy "allowlist" needs at least one allowFrom entry']
    assert errors_of({"channels": {"telegram": {"dmPolicy": "open", "allowFrom": [1]}}}) == [
        'channels.telegram.allowFrom: dmPolicy "open" needs allowFrom: ["*"]']
    assert errors_of({"channels": {"telegram": {"webhookUrl": "https://a/b"}}}) == [
        "channels.telegram.webhookSecret: required with webhookUrl (Telegram sends it back)"]
    assert errors_of({"channels": {"telegram": {"apiRoot": "file:///etc"}}}) == ["channels.telegram.apiRoot: must be an http(s) URL"]
    assert errors_of({"channels": {"telegram": {"textChunkLimit": 9000}}})[0].startswith("channels.telegram.textChunkLimit")
    assert errors_of({"channels": {"webhook": {"a": {}}}}) == ["channels.webhook.a.secret: required: inbound POSTs must present it"]
    assert errors_of({"channels": {"webhook": {"a": {"secret": "short"}}}}) == [
        "channels.webhook.a.secret: at least 16 characters (guessable otherwise)"]
    assert errors_of({"channels": {"telegram": {"webhookUrl": "https://a/b", "webhookSecret": "has space 0123456789"}}})[0]\
        .startswith("channels.telegram.webhookSecret: 16-256 characters")
    clash = errors_of({"channels": {"webhook": {"a": {"secret": "s" * 16, "path": "/x"}, "b": {"secret": "s" * 16, "path": "/x"}}}})
    assert clash == ["channels: webhook:a and webhook:b both take inbound POSTs on /x"]
    own = errors_of({"channels": {"webhook": {"a": {"secret": "s" * 16, "path": "/v1/chat/completions"}}}})
    assert own == ["channels: webhook:a: inbound path /v1/chat/completions is one of the gateway's own"]
    assert errors_of({"channels": {"telegram": {"botToken": "t", "groups": {"-100": {"requireMention": True}},
                                                "accounts": {"w": {"botToken": "x"}}}}}) == []


def test_accounts_must_not_share_a_bot_or_a_webhook_and_ids_are_file_safe(tmp_path: Path) -> None:
    same = {"channels": {"telegram": {"botToken": "t", "accounts": {"work": {"botToken": "t"}}}}}
    assert errors_of(same) == ["channels.telegram.accounts.work: uses the same bot as account default (one poller per bot)"]
    inherited = {"channels": {"telegram": {"botToken": "t", "webhookUrl": "https://x/telegram-webhook", "webhookSecret": "s" * 16,
                                           "accounts": {"work": {"botToken": "w"}}}}}
    assert errors_of(inherited) == [
        "channels.telegram.accounts.work.webhookUrl: the same webhookUrl as account default"]
    # the default account's own rules apply with accounts present too
    assert errors_of({"channels": {"telegram": {"botToken": "t", "webhookUrl": "https://x/y",
                                                "accounts": {"work": {"botToken": "w", "webhookUrl": None}}}}}) == [
        "channels.telegram.webhookSecret: required with webhookUrl (Telegram sends it back)"]
    bad = errors_of({"channels": {"telegram": {"accounts": {"../../tmp/x": {"botToken": "w"}, "Work": {"botToken": "v"}}},
                                  "webhook": {"../up": {"secret": "s" * 16}}}})
    assert "channels.telegram.accounts.../../tmp/x: account ids are lowercase letters, digits, '-' and '_' (max 32)" in bad
    assert any(e.startswith("channels.telegram.accounts.Work: account ids") for e in bad)
    assert any(e.startswith("channels.webhook.../up: account ids") for e in bad)
    missing = str(tmp_path / "nope")
    assert errors_of({"channels": {"telegram": {"tokenFile": missing}}}) == [
        f"channels.telegram.tokenFile: {missing} is not a readable file"]
