"""`openclaw pairing | channels | message` as a user runs them: on a real state dir (pairing: no
gateway), from the config (channels list, channels status with the gateway down), and against a
real gateway (channels status live, message send through a channel worker to a local receiver)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openclaw.ipc.channel_pairing import ChannelPairingStore

from ..fakes.telegram_api import FakeTelegramApi
from ..harness import Gateway, Home, free_port, running_gateway, wait_for
from ..wsclient import open_client
from .test_webhook_channel import Receiver

SECRET = "inbound-secret-0123456789"
TELEGRAM_CHANNEL = {"botToken": "123:ABC", "apiRoot": "http://127.0.0.1:9"}  # nothing listens there


@pytest.fixture
def home(tmp_path: Path) -> Home:
    h = Home(tmp_path)
    cfg = h.default_config(port=free_port())  # a port where no gateway runs
    h.write_config(cfg)
    return h


def seed_requests(home: Home) -> dict[str, str]:
    """Pending requests as the Telegram worker leaves them (same store, same file)."""
    store = ChannelPairingStore(home.state_dir)
    codes = {}
    for sender, meta in (("555001", {"username": "alice", "firstName": "Alice"}), ("555002", {"firstName": "Bob"})):
        code, created = store.request("telegram", "default", sender, meta)
        assert created
        codes[sender] = code
    return codes


# ------------------------------------------------------------------------------------------ pairing


def test_pairing_list_and_approve_on_the_state_dir(home: Home) -> None:
    assert (r := home.cli("pairing", "list", "telegram", "--json")).returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"channel": "telegram", "requests": []}
    r = home.cli("pairing", "list")
    assert r.returncode == 0 and "No pending telegram pairing requests." in r.stdout

    codes = seed_requests(home)
    r = home.cli("pairing", "list", "telegram", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["channel"] == "telegram"
    assert [(q["id"], q["code"]) for q in out["requests"]] == [("555001", codes["555001"]), ("555002", codes["555002"])]
    first = out["requests"][0]
    assert set(first) == {"id", "code", "createdAt", "lastSeenAt", "meta"}  # upstream's entry, nothing more
    assert first["meta"] == {"username": "alice", "firstName": "Alice", "accountId": "default"}
    r = home.cli("pairing", "list", "--channel", "telegram")
    assert r.returncode == 0 and "Pairing requests (2)" in r.stdout and "telegramUserId" in r.stdout
    assert codes["555002"] in r.stdout
    assert json.loads(home.cli("pairing", "list", "telegram", "--account", "work", "--json").stdout)["requests"] == []

    # approve: the sender is admitted, the first approval names the command owner in the config
    r = home.cli("pairing", "approve", "telegram", codes["555001"].lower())
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "Approved telegram sender 555001.",
        "Command owner configured telegram:555001 (commands.ownerAllowFrom was empty).",
    ]
    assert json.loads(home.config_path.read_text())["commands"]["ownerAllowFrom"] == ["telegram:555001"]
    store = ChannelPairingStore(home.state_dir)
    assert store.is_allowed("telegram", "default", "555001") and not store.is_allowed("telegram", "default", "555002")
    # the second approval (code as the only argument: telegram is the default channel) leaves the owner alone
    r = home.cli("pairing", "approve", codes["555002"])
    assert r.returncode == 0 and r.stdout.strip() == "Approved telegram sender 555002.", r.stdout
    assert json.loads(home.config_path.read_text())["commands"]["ownerAllowFrom"] == ["telegram:555001"]
    assert store.allow_entries("telegram", "default") == ["555001", "555002"]
    assert json.loads(home.cli("pairing", "list", "telegram", "--json").stdout)["requests"] == []

    # a used or unknown code: a clear message, exit 1; bad usage: exit 2
    r = home.cli("pairing", "approve", "telegram", codes["555001"])
    assert r.returncode == 1 and f'No pending pairing request found for code "{codes["555001"]}"' in r.stderr
    assert "Traceback" not in r.stderr
    for args in (("pairing", "list", "--account", " "), ("pairing", "list", "tele gram"),
                 ("pairing", "approve", "--channel", "telegram", "A", "B"), ("pairing", "list", "telegram", "--channel", "webhook")):
        r = home.cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr


def test_pairing_approve_notify_without_a_gateway_still_approves(home: Home) -> None:
    codes = seed_requests(home)
    t0 = time.monotonic()
    r = home.cli("pairing", "approve", "telegram", codes["555002"], "--notify")
    assert r.returncode == 0, r.stderr
    assert "Approved telegram sender 555002." in r.stdout
    assert "Failed to notify requester: Gateway not reachable" in r.stdout
    assert time.monotonic() - t0 < 10
    assert ChannelPairingStore(home.state_dir).is_allowed("telegram", "default", "555002")


def test_pairing_db_unusable_is_a_clear_failure(home: Home) -> None:
    db = home.state_dir / "state" / "openclaw.sqlite"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    r = home.cli("pairing", "list", "telegram", "--json")
    assert r.returncode == 1 and "Cannot use the pairing database" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------------------------ channels (config)


def test_channels_list_from_the_config(home: Home) -> None:
    r = home.cli("channels", "list", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"chat": {}}
    assert "no configured chat channels" in home.cli("channels", "list").stdout
    cfg = json.loads(home.config_path.read_text())
    cfg["channels"] = {
        "telegram": {**TELEGRAM_CHANNEL, "accounts": {"work": {"botToken": "9:X"}, "old": {"enabled": False}}},
        "webhook": {"crm": {"secret": SECRET}},
    }
    home.write_config(cfg)
    r = home.cli("channels", "list", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"chat": {
        "telegram": {"accounts": ["default", "old", "work"], "label": "Telegram", "docsPath": "/channels/telegram",
                     "installed": True, "origin": "configured"},
        "webhook": {"accounts": ["crm"], "label": "Webhook", "installed": True, "origin": "configured"},
    }}
    lines = home.cli("channels", "list").stdout.splitlines()
    assert lines[0] == "Chat channels:"
    assert "- Telegram default: installed, configured, enabled, token=***" in lines
    assert "- Telegram old: installed, configured, disabled, token=***" in lines
    assert "- Webhook crm: installed, configured, enabled" in lines
    assert "123:ABC" not in "\n".join(lines)


def test_channels_status_with_the_gateway_down_is_a_config_only_summary(home: Home) -> None:
    cfg = json.loads(home.config_path.read_text())
    cfg["channels"] = {"telegram": {**TELEGRAM_CHANNEL, "webhookUrl": "https://example.invalid/hook"}}
    home.write_config(cfg)
    t0 = time.monotonic()
    r = home.cli("channels", "status", "--probe", "--json")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 10  # no long wait for a gateway that is not there
    out = json.loads(r.stdout)
    assert out["gatewayReachable"] is False and out["configOnly"] is True and out["gatewayAuthUnavailable"] is False
    assert "not reachable" in out["error"]
    assert out["config"] == {"path": str(home.config_path), "mode": "local"}
    assert out["configuredChannels"] == ["telegram"]
    r = home.cli("channels", "status")
    assert r.returncode == 0
    assert "Gateway not reachable" in r.stderr
    assert "Gateway not reachable; showing config-only status." in r.stdout
    assert "- Telegram default: enabled, configured, mode:webhook, token:***" in r.stdout.splitlines()
    assert home.cli("channels", "status", "--timeout", "0").returncode == 2


# ------------------------------------------------------------------------- against a running gateway


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def cli_json(home: Home, *args: str, code: int = 0) -> Any:
    r = home.cli(*args, timeout=60)
    assert r.returncode == code, (args, r.stdout, r.stderr)
    return json.loads(r.stdout)


def webhook_running(gw: Gateway) -> bool:
    c = open_client(gw.url)
    try:
        st = c.call("channels.status", {})["payload"]
    finally:
        c.close()
    return any(a.get("running") and a.get("accountId") == "crm" for a in st["channelAccounts"].get("webhook", []))


def test_status_and_send_against_a_running_gateway(tmp_path: Path, receiver: Receiver) -> None:
    home = Home(tmp_path)
    with running_gateway(home) as gw:
        # no channels: the empty status shape, and send has nowhere to go
        st = cli_json(home, "channels", "status", "--json")
        assert st["channelOrder"] == [] and st["channelAccounts"] == {} and st["channels"] == {} and st["statusIssues"] == []
        r = home.cli("channels", "status")
        assert r.returncode == 0 and r.stdout.splitlines()[0] == "Gateway reachable." and "no configured chat channels" in r.stdout
        r = home.cli("message", "send", "--target", "555001", "--message", "hi")
        assert r.returncode == 1 and "Channel is required (no configured channels detected)" in r.stderr, r.stderr
        err = cli_json(home, "message", "send", "--target", "555001", "--message", "hi", "--json", code=1)
        assert err["ok"] is False and err["error"]["code"] == "INVALID_REQUEST"

        # a webhook channel added on the running gateway: live status, then sends through its worker
        cfg = json.loads(home.config_path.read_text())
        cfg["channels"] = {"webhook": {"crm": {"secret": SECRET, "replyUrl": receiver.url}}}
        home.write_config(cfg)
        gw.wait_applied()
        wait_for(lambda: webhook_running(gw), 20, interval=0.1, what="the webhook channel worker")
        st = cli_json(home, "channels", "status", "--probe", "--json")
        assert st["channelOrder"] == ["webhook"] and st["channelLabels"] == {"webhook": "Webhook"}
        (crm,) = st["channelAccounts"]["webhook"]
        assert crm["accountId"] == "crm" and crm["running"] is True and crm["pid"]
        lines = home.cli("channels", "status").stdout.splitlines()
        line = next(x for x in lines if x.startswith("- Webhook crm: "))
        assert "enabled, configured" in line and "running" in line, line

        text = f"hello {uuid.uuid4()}"
        out = cli_json(home, "message", "send", "--channel", "webhook", "--target", "bob", "--message", text, "--json")
        assert out["action"] == "send" and out["channel"] == "webhook" and out["dryRun"] is False
        assert out["handledBy"] == "core" and out["messageId"] and out["payload"]["messageId"] == out["messageId"]
        posted = [p["body"] for p in receiver.posts if p["body"].get("text") == text]
        assert len(posted) == 1 and posted[0]["to"] == "bob" and posted[0]["messageId"] == out["messageId"]

        # human output; the only channel is chosen without --channel; a media file travels along
        media = tmp_path / "note.txt"
        media.write_text("attached")
        text2 = f"second {uuid.uuid4()}"
        r = home.cli("message", "send", "-t", "carol", "-m", text2, "--media", str(media))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("✅ Sent via Webhook. Message ID: ")
        wait_for(lambda: any(p["body"].get("text") == text2 for p in receiver.posts), 5, what="the second post")

        # refused before anything is sent: too big a file, nothing to send, dry run
        big = tmp_path / "big.bin"
        with big.open("wb") as fh:
            fh.truncate(20 * 1024 * 1024 + 1)
        before = len(receiver.posts)
        r = home.cli("message", "send", "-t", "carol", "-m", "x", "--media", str(big))
        assert r.returncode == 2 and "at most 20971520 bytes (20 MiB)" in r.stderr
        assert home.cli("message", "send", "-t", "carol").returncode == 2
        assert home.cli("message", "send", "-m", "x").returncode == 2
        assert home.cli("message", "send", "-t", "carol", "-m", "x", "--media", str(tmp_path / "missing")).returncode == 2
        dry = cli_json(home, "message", "send", "-t", "carol", "-m", "x", "--dry-run", "--json")
        assert dry["dryRun"] is True and dry["payload"]["params"]["to"] == "carol"
        # the gateway's own refusal: a channel that is not configured
        r = home.cli("message", "send", "--channel", "telegram", "-t", "1", "-m", "x")
        assert r.returncode == 1 and "INVALID_REQUEST" in r.stderr and "not configured" in r.stderr
        assert len(receiver.posts) == before


def test_telegram_pairing_status_and_send_with_our_cli(tmp_path: Path) -> None:
    """Our CLI and the Telegram worker on one state dir: the worker's pairing request is approved (and
    notified) by `openclaw pairing approve --notify`, the sender's next DM is a run; status lines and
    `message send` go through the same worker."""
    home = Home(tmp_path)
    with FakeTelegramApi(tokens={"111:AAA": "fake_oc_bot"}) as tg:
        cfg = home.default_config()
        cfg["channels"] = {"telegram": {"botToken": "111:AAA", "apiRoot": tg.url}}
        home.write_config(cfg)
        with running_gateway(home):
            tg.wait_for_call("getUpdates", timeout=15, answered=False)
            tg.inject_dm(555001, "hello?", username="alice", first_name="Alice")
            wait_for(lambda: any("Pairing code:" in t for t in tg.sent_texts(555001)), 15, what="the pairing reply")
            (req,) = cli_json(home, "pairing", "list", "--json")["requests"]
            assert req["id"] == "555001" and req["meta"]["username"] == "alice"

            r = home.cli("pairing", "approve", "telegram", req["code"], "--notify", timeout=60)
            assert r.returncode == 0, r.stderr
            assert "Approved telegram sender 555001." in r.stdout and "Failed to notify" not in r.stdout, r.stdout
            assert "✅ OpenClaw access approved. Send a message to start chatting." in tg.sent_texts(555001)
            tg.inject_dm(555001, "ping", username="alice", first_name="Alice")
            wait_for(lambda: any("ping" in t for t in tg.sent_texts(555001)), 20, what="the agent's reply")

            line = next(x for x in home.cli("channels", "status", "--probe").stdout.splitlines()
                        if x.startswith("- Telegram default: "))
            for bit in ("enabled, configured", "running", "connected", "in:just now", "mode:polling", "bot:@fake_oc_bot",
                        "token:***", "works"):
                assert bit in line, (bit, line)

            out = cli_json(home, "message", "send", "--channel", "telegram", "--target", "555001", "--message",
                           "from our cli", "--json")
            sent = next(c for c in tg.calls("sendMessage") if c.payload.get("text") == "from our cli")
            assert out["channel"] == "telegram" and out["messageId"] and str(sent.payload["chat_id"]) == "555001"
