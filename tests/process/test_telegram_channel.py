"""Telegram end to end on a real gateway against the local fake Bot API (tests/fakes/telegram_api.py):
DM -> agent run (offline provider) -> reply in the chat; DM policy and pairing; chunking; 429;
no update lost or repeated across a SIGKILLed worker; per-account restart; `send` idempotency;
webhook mode through the gateway's one port; a refused token goes FATAL while the rest carries on."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ..fakes.telegram_api import FakeTelegramApi
from ..harness import Gateway, Home, wait_for
from ..wsclient import open_client
from .http_kit import request

TOKEN_A = "111:AAA"
TOKEN_B = "222:BBB"
ALICE, BOB, CAROL = 555001, 555002, 555003


@pytest.fixture
def tg() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi(tokens={TOKEN_A: "fake_oc_bot", TOKEN_B: "fake_work_bot"}) as api:
        yield api


def tg_config(home: Home, tg: FakeTelegramApi, **section: Any) -> dict[str, Any]:
    cfg = home.default_config()
    cfg["channels"] = {"telegram": {"botToken": TOKEN_A, "apiRoot": tg.url, **section}}
    return cfg


def replies(tg: FakeTelegramApi, chat_id: int, token: str = TOKEN_A) -> list[str]:
    return tg.sent_texts(chat_id, token)


def worker_pid(gw: Gateway, name: str = "channel:telegram") -> int:
    return wait_for(lambda: gw.children_by_title().get(name), 15, what=f"{name} running")


def polling(tg: FakeTelegramApi, token: str = TOKEN_A) -> None:
    """The account's worker is long-polling (its getUpdates arrived; it is not answered until an update comes)."""
    tg.wait_for_call("getUpdates", timeout=15, where=lambda c: c.token == token, answered=False)


def test_allowed_dm_gets_the_agent_reply_and_operators_see_the_run(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    gw = make_gateway(config=tg_config(home, tg, dmPolicy="allowlist", allowFrom=[ALICE]))
    polling(tg)
    c = open_client(gw.url)
    try:
        tg.inject_dm(ALICE, "hello bot", username="alice", first_name="Alice")
        wait_for(lambda: any("hello bot" in t for t in replies(tg, ALICE)), 15, what="the reply in Alice's chat")
        sent = next(x for x in tg.calls("sendMessage") if str(x.payload.get("chat_id")) == str(ALICE))
        assert sent.payload.get("parse_mode") == "HTML"
        rows = c.call("sessions.list", {})["payload"]["sessions"]
        assert any(s["key"] == "agent:main:main" for s in rows)  # default dmScope "main"
        st = c.call("channels.status", {"probe": True})["payload"]
        acct = st["channelAccounts"]["telegram"][0]
        assert acct["accountId"] == "default" and acct["running"] is True and acct["connected"] is True
        assert acct["mode"] == "polling" and acct["lastInboundAt"] and acct["lastOutboundAt"]
        assert acct["probe"]["ok"] is True and acct["probe"]["bot"]["username"] == "fake_oc_bot"
        assert st["channels"]["telegram"]["probe"]["botInfo"]["id"] == 7000001
        assert st["channelLabels"] == {"telegram": "Telegram"} and st["channelDetailLabels"] == {"telegram": "Telegram Bot"}
    finally:
        c.close()


def test_unknown_sender_is_never_run_and_pairing_admits_them(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    gw = make_gateway(config=tg_config(home, tg))  # dmPolicy pairing (default)
    polling(tg)
    tg.inject_dm(BOB, "let me in", username="bob", first_name="Bob")
    first = wait_for(lambda: replies(tg, BOB), 15, what="the pairing reply")
    assert first[0].startswith("OpenClaw: access not configured.") and f"Your Telegram user id: {BOB}" in first[0]
    code = first[0].split("<pre><code>")[1].split("\n")[0]
    assert len(code) == 8
    tg.inject_dm(BOB, "again", username="bob", first_name="Bob")
    tg.inject_dm(BOB, "and again", username="bob", first_name="Bob")
    wait_for(lambda: not tg.pending_updates(TOKEN_A), 15, what="the repeats consumed (confirmed by the next poll)")
    c = open_client(gw.url)
    try:
        assert not any(s["key"] == "agent:main:main" for s in c.call("sessions.list", {})["payload"]["sessions"])
    finally:
        c.close()
    listed = home.cli("pairing", "list", "telegram", "--json")
    assert listed.returncode == 0, listed.stderr
    assert code in listed.stdout and str(BOB) in listed.stdout
    approved = home.cli("pairing", "approve", "telegram", code)
    assert approved.returncode == 0 and f"Approved telegram sender {BOB}." in approved.stdout, approved.stderr
    tg.inject_dm(BOB, "now hello", username="bob", first_name="Bob")
    wait_for(lambda: any("now hello" in t for t in replies(tg, BOB)), 15, what="the run after approval")
    # one chat's messages are handled in order: the repeats before "now hello" got no second pairing reply, no run
    assert len(replies(tg, BOB)) == 2 and "now hello" in replies(tg, BOB)[1]


def test_long_reply_is_chunked_and_429_is_honoured(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    make_gateway(config=tg_config(home, tg, dmPolicy="open", allowFrom=["*"]))
    polling(tg)
    words = " ".join(f"word{i}" for i in range(1500))  # ~11k characters: the echo needs 3 messages
    tg.fail_next(1, status=429, retry_after=2, methods="sendMessage")
    tg.inject_dm(CAROL, words, username="carol")
    chunks = wait_for(lambda: (r := replies(tg, CAROL)) and "word1499" in r[-1] and r, 30, what="all chunks")
    assert len(chunks) >= 3 and all(len(t) <= 4096 for t in chunks)
    assert " ".join(chunks).count("word") == 1500
    calls = tg.calls("sendMessage")
    refused = next(x for x in calls if x.status == 429)
    after = next(x for x in calls if x.at > refused.at)
    assert after.at - refused.at >= 2.0  # retry_after honoured


def test_sigkill_mid_poll_loses_and_repeats_no_update(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    gw = make_gateway(config=tg_config(home, tg, dmPolicy="open", allowFrom=["*"]))
    polling(tg)
    sent: list[str] = []
    for round_ in range(3):
        for i in range(10):
            text = f"msg-{round_}-{i}"
            tg.inject_dm(ALICE + i % 3, text)
            sent.append(text)
        pid = worker_pid(gw)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda pid=pid: gw.children_by_title().get("channel:telegram") not in (None, pid), 15,
                 what="the worker restarted")
    got = wait_for(lambda: (r := [t for c in (ALICE, ALICE + 1, ALICE + 2) for t in replies(tg, c)])
                   and all(any(s in t for t in r) for s in sent) and r, 60, what="a reply to every message")
    for text in sent:  # msg-R-I with I < 10: no text is a prefix of another
        assert sum(text in t for t in got) == 1, (text, got)


def test_token_change_restarts_only_that_account(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    cfg = tg_config(home, tg, dmPolicy="open", allowFrom=["*"])
    cfg["channels"]["telegram"]["accounts"] = {"work": {"botToken": TOKEN_B}}
    cfg["channels"]["webhook"] = {"crm": {"secret": "s" * 24}}
    gw = make_gateway(config=cfg)
    polling(tg, TOKEN_A)
    polling(tg, TOKEN_B)
    before = gw.children_by_title()
    assert {"channel:telegram", "channel:telegram:work", "channel:webhook:crm"} <= set(before)
    cfg["channels"]["telegram"]["accounts"]["work"]["textChunkLimit"] = 2000
    home.write_config(cfg)
    reload = gw.wait_applied()
    assert reload["lastActions"] == ["restarting worker channel telegram:work (channels.telegram.accounts.work.textChunkLimit)"]
    after = wait_for(lambda: (k := gw.children_by_title()).get("channel:telegram:work") not in (None, before["channel:telegram:work"]) and k,
                     15, what="work replaced")
    for name in ("frontend", "agent", "node", "channel:telegram", "channel:webhook:crm"):
        assert after[name] == before[name], name
    tg.inject_dm(ALICE, "still there", token=TOKEN_A)
    wait_for(lambda: any("still there" in t for t in replies(tg, ALICE)), 15, what="default account still serving")


def test_send_is_idempotent_and_fails_fast_when_not_linked(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    gw = make_gateway(config=tg_config(home, tg))
    polling(tg)
    tg.add_chat(ALICE)
    c = open_client(gw.url)
    try:
        key = str(uuid.uuid4())
        first = c.call("send", {"to": str(ALICE), "message": "operator says hi", "idempotencyKey": key})
        assert first["ok"], first
        assert first["payload"]["runId"] == key and first["payload"]["channel"] == "telegram"
        again = c.call("send", {"to": f"telegram:{ALICE}", "channel": "telegram", "message": "operator says hi",
                                "idempotencyKey": key})
        assert again["payload"] == first["payload"]
        assert replies(tg, ALICE).count("operator says hi") == 1
        tg.revoke(TOKEN_A)  # the token stops working: the worker goes FATAL with the reason
        wait_for(lambda: c.call("health")["payload"]["workers"]["channel:telegram"]["state"] == "fatal", 20,
                 what="FATAL after 401")
        err = c.call("send", {"to": str(ALICE), "message": "x", "idempotencyKey": str(uuid.uuid4())})["error"]
        assert err["code"] == "NOT_LINKED" and "401" in err["message"]
        st = c.call("channels.status", {})["payload"]
        assert st["channels"]["telegram"]["running"] is False and "401" in st["channels"]["telegram"]["lastError"]
        r = request(gw, "GET", "/readyz", auth=False)
        assert r.status == 503 and any("channel:telegram" in f for f in r.json()["failing"])
        assert c.call("agent", {"message": "still works", "idempotencyKey": str(uuid.uuid4())})["ok"]
    finally:
        c.close()


def test_webhook_mode_through_the_one_port(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    from ..harness import free_port

    port = free_port()
    secret = "tg-webhook-secret-0123456789"
    cfg = tg_config(home, tg, dmPolicy="open", allowFrom=["*"], webhookSecret=secret,
                    webhookUrl=f"http://127.0.0.1:{port}/telegram-webhook")
    gw = make_gateway(args=["--port", str(port)], config=cfg)
    tg.wait_for_call("setWebhook", timeout=15)  # answered: Telegram now POSTs updates to the gateway
    hook = tg.calls("setWebhook")[-1].payload
    assert hook["url"].endswith("/telegram-webhook") and hook["secret_token"] == secret
    tg.inject_dm(ALICE, "via webhook")
    wait_for(lambda: any("via webhook" in t for t in replies(tg, ALICE)), 15, what="the reply to a webhook update")
    assert not tg.calls("getUpdates")
    r = request(gw, "POST", "/telegram-webhook", {"update_id": 1}, auth=False,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    assert r.status == 401 and r.body == b"unauthorized"
    assert request(gw, "GET", "/telegram-webhook", auth=False).status == 404
    ok = request(gw, "POST", "/telegram-webhook", {"update_id": 999_999, "message": {
        "message_id": 5, "date": int(time.time()), "chat": {"id": ALICE, "type": "private"},
        "from": {"id": ALICE, "is_bot": False, "first_name": "A"}, "text": "direct post"}},
        auth=False, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
    assert ok.status == 200 and ok.header("x-openclaw-delivery-accepted") == "durable"
    wait_for(lambda: any("direct post" in t for t in replies(tg, ALICE)), 15, what="reply to the direct post")


def test_enable_and_disable_on_a_running_gateway(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    cfg = tg_config(home, tg, enabled=False)
    gw = make_gateway(config=cfg)
    assert "channel:telegram" not in gw.children_by_title()
    r = home.cli("config", "set", "channels.telegram.enabled", "true")
    assert r.returncode == 0, r.stderr
    worker_pid(gw)
    polling(tg)
    r = home.cli("config", "set", "channels.telegram.enabled", "false")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "channel:telegram" not in gw.children_by_title(), 15, what="telegram stopped")


def test_pairing_over_rpc_list_approve_with_notify_and_dismiss(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    gw = make_gateway(config=tg_config(home, tg))
    polling(tg)
    tg.inject_dm(BOB, "hi", username="bob", first_name="Bob")
    tg.inject_dm(CAROL, "hi", username="carol", first_name="Carol")
    wait_for(lambda: replies(tg, BOB) and replies(tg, CAROL), 15, what="both pairing replies")
    c = open_client(gw.url)
    try:
        listed = c.call("channels.pairing.list", {"channel": "telegram"})["payload"]
        assert listed["accounts"] == [{"channel": "telegram", "channelLabel": "Telegram", "accountId": "default",
                                       "notifySupported": True}]
        assert listed["limits"] == {"pendingPerAccount": 3, "ttlMs": 3600000}
        by_sender = {r["senderId"]: r for r in listed["requests"]}
        assert set(by_sender) == {str(BOB), str(CAROL)} and by_sender[str(BOB)]["metadata"]["username"] == "bob"
        assert len(by_sender[str(BOB)]["requestId"]) == 32
        res = c.call("channels.pairing.approve", {"channel": "telegram", "accountId": "default",
                                                  "requestId": by_sender[str(BOB)]["requestId"], "notify": True})["payload"]
        assert res["senderId"] == str(BOB) and res["notification"] == "sent"
        assert wait_for(lambda: any(t.startswith("✅ OpenClaw access approved") for t in replies(tg, BOB)), 10, what="notice")
        gone = c.call("channels.pairing.dismiss", {"channel": "telegram", "requestId": by_sender[str(CAROL)]["requestId"]})
        assert gone["payload"] == {"requestId": by_sender[str(CAROL)]["requestId"], "senderId": str(CAROL)}
        again = c.call("channels.pairing.dismiss", {"channel": "telegram", "requestId": by_sender[str(CAROL)]["requestId"]})
        assert again["error"]["code"] == "INVALID_REQUEST"
        assert c.call("channels.pairing.list", {})["payload"]["requests"] == []
    finally:
        c.close()
    tg.inject_dm(BOB, "approved now", username="bob")
    wait_for(lambda: any("approved now" in t for t in replies(tg, BOB)), 15, what="Bob's run")


def test_a_partly_delivered_send_is_never_posted_again(make_gateway, home: Home, tg: FakeTelegramApi) -> None:
    gw = make_gateway(config=tg_config(home, tg))
    polling(tg)
    tg.add_chat(ALICE)
    c = open_client(gw.url)
    try:
        text = "PART1 " + "a " * 2500 + "\n\nPART2 " + "b " * 2500  # two messages
        tg.delay_next(1, 0.1, methods="sendMessage")  # the first part goes out
        tg.fail_next(4, status=502, description="Bad Gateway", methods="sendMessage")  # the second never does
        params = {"to": str(ALICE), "message": text, "idempotencyKey": str(uuid.uuid4())}
        err = c.call("send", params)["error"]
        assert err["code"] == "UNAVAILABLE" and "partially delivered" in err["message"] and err.get("retryable") is False
        again = c.call("send", params)["error"]
        assert again.get("retryable") is False and "not sent again" in again["message"]
        assert sum(t.startswith("PART1") for t in replies(tg, ALICE)) == 1
    finally:
        c.close()
