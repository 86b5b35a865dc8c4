"""The upstream CLI (openclaw@2026.9.6) against our gateway with a Telegram channel pointed at the local
fake Bot API (tests/fakes/telegram_api.py): `channels status --probe` (JSON and lines), `message send`,
and `pairing list|approve` on the state database our Telegram worker writes, the approval then
admitting the sender to agent runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ..fakes.telegram_api import FakeTelegramApi
from ..harness import Gateway, Home, free_port, wait_for
from .conftest import UpstreamCli

BOT_TOKEN = "111:AAA"
ALICE = 555001


@pytest.fixture(scope="module")
def tg() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi(tokens={BOT_TOKEN: "fake_oc_bot"}) as api:
        yield api


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tg: FakeTelegramApi) -> Iterator[tuple[Home, Gateway]]:
    """A gateway found through the config's port (the upstream CLI gets no --url), Telegram polling the fake."""
    home = Home(tmp_path_factory.mktemp("upstream-channels"))
    cfg = home.default_config(port=free_port())
    cfg["channels"] = {"telegram": {"botToken": BOT_TOKEN, "apiRoot": tg.url}}
    home.write_config(cfg)
    gw = Gateway(home, [])
    try:
        gw.start()
        gw.wait_ready()
        tg.wait_for_call("getUpdates", timeout=15, answered=False)
        yield home, gw
    finally:
        gw.stop()


def texts_to(tg: FakeTelegramApi, chat: int) -> list[str]:
    return tg.sent_texts(chat, BOT_TOKEN)


def test_channels_status_probe(upstream_cli: UpstreamCli, setup: tuple[Home, Gateway], tg: FakeTelegramApi) -> None:
    home, _ = setup
    getme_before = len(tg.calls("getMe"))
    res = upstream_cli.run(home, "channels", "status", "--probe", "--json")
    assert res.returncode == 0, res.describe()
    st = res.json()
    assert st["channelOrder"] == ["telegram"] and st["channelLabels"] == {"telegram": "Telegram"}, res.describe()
    assert st["channelDefaultAccountId"] == {"telegram": "default"}
    (acct,) = st["channelAccounts"]["telegram"]
    assert acct["accountId"] == "default" and acct["running"] is True and acct["connected"] is True
    assert acct["mode"] == "polling" and acct["tokenSource"] == "config"
    assert acct["probe"]["ok"] is True and acct["probe"]["bot"]["username"] == "fake_oc_bot"
    assert st["channels"]["telegram"]["probe"]["botInfo"]["username"] == "fake_oc_bot"
    assert len(tg.calls("getMe")) > getme_before  # --probe asked the Bot API

    res = upstream_cli.run(home, "channels", "status", "--probe")
    assert res.returncode == 0, res.describe()
    line = next((x for x in res.stdout.splitlines() if x.startswith("- Telegram default: ")), None)
    assert line is not None, res.describe()
    for bit in ("enabled", "configured", "running", "connected", "mode:polling", "bot:@fake_oc_bot", "token:", "works"):
        assert bit in line, (bit, line)


def test_pairing_list_and_approve_on_the_database_our_worker_writes(
    upstream_cli: UpstreamCli, setup: tuple[Home, Gateway], tg: FakeTelegramApi,
) -> None:
    home, _ = setup
    tg.inject_dm(ALICE, "hello?", username="alice", first_name="Alice")
    reply = wait_for(lambda: next((t for t in texts_to(tg, ALICE) if "Pairing code:" in t), None), 15,
                     what="the pairing reply")
    code = reply.split("<pre><code>", 1)[1].split("\n", 1)[0]

    res = upstream_cli.run(home, "pairing", "list", "telegram", "--json")
    assert res.returncode == 0, res.describe()
    listed = res.json()
    assert listed["channel"] == "telegram", res.describe()
    (req,) = listed["requests"]
    assert (req["id"], req["code"]) == (str(ALICE), code), res.describe()
    assert req["meta"]["username"] == "alice" and req["meta"]["accountId"] == "default"

    res = upstream_cli.run(home, "pairing", "approve", "telegram", code)
    assert res.returncode == 0, res.describe()
    assert f"Approved telegram sender {ALICE}." in res.stdout, res.describe()
    assert json.loads(home.config_path.read_text())["commands"]["ownerAllowFrom"] == [f"telegram:{ALICE}"]

    # our worker reads the approval upstream wrote: Alice's next DM is an agent run answered in her chat
    tg.inject_dm(ALICE, "ping after approval", username="alice", first_name="Alice")
    wait_for(lambda: any("ping after approval" in t for t in texts_to(tg, ALICE)), 20, what="the agent's reply to Alice")


def test_message_send_json(upstream_cli: UpstreamCli, setup: tuple[Home, Gateway], tg: FakeTelegramApi) -> None:
    home, _ = setup
    tg.add_chat(ALICE, username="alice")  # a chat exists once its user wrote to the bot
    res = upstream_cli.run(home, "message", "send", "--channel", "telegram", "--target", str(ALICE),
                           "--message", "hi from the upstream cli", "--json")
    assert res.returncode == 0, res.describe()
    out: dict[str, Any] = res.json()
    sent = wait_for(lambda: next((c for c in tg.calls("sendMessage") if c.payload.get("text") == "hi from the upstream cli"),
                                 None), 10, what="the sendMessage")
    assert str(sent.payload["chat_id"]) == str(ALICE)
    assert out["action"] == "send" and out["channel"] == "telegram" and out["dryRun"] is False, res.describe()
    assert out["payload"] == {"ok": True, "messageId": out["messageId"], "chatId": str(ALICE), "receipt": {}}, res.describe()


def test_health_and_status_with_a_channel(upstream_cli: UpstreamCli, setup: tuple[Home, Gateway]) -> None:
    """The everyday commands read the health snapshot, which now carries a live channel: no crash."""
    home, _ = setup
    res = upstream_cli.run(home, "health", "--json")
    assert res.returncode == 0, res.describe()
    assert "telegram" in res.json()["channels"], res.describe()
    for args in (("health",), ("status",)):
        res = upstream_cli.run(home, *args)
        assert res.returncode == 0 and "Error" not in res.stderr, res.describe()
