"""TelegramChannel against the fake Bot API (real HTTP on 127.0.0.1) and a fake host (the agent side):
polling and webhook intake, DM policy and pairing, replies (chunked, valid HTML, 429 honoured), fatal
tokens, reconnects, restart safety, per-chat ordering, operator sends and the probe."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openclaw.ipc.channel_pairing import ChannelPairingStore
from openclaw.ipc.errors import ConfigRefusal, GatewayError
from openclaw.workers.channel.telegram import channel as channel_module
from openclaw.workers.channel.telegram.channel import TelegramChannel, pairing_text
from openclaw.workers.channel.telegram.spool import IngressSpool, spool_path

from ..fakes.telegram_api import FakeTelegramApi, parse_html
from .telegram_kit import (
    ALICE,
    BOB,
    CAROL,
    TOKEN,
    FakeHost,
    run_failed,
    running,
    section,
    unavailable,
    until,
)


@pytest.fixture
def tg() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi(tokens={TOKEN: "fake_oc_bot"}) as api:
        yield api


def polling(tg: FakeTelegramApi, n: int = 1) -> Any:
    """Wait (in a thread) until the n-th getUpdates arrived: the channel is long-polling."""
    return asyncio.to_thread(tg.wait_for_call, "getUpdates", n, 10.0, None, False)


def open_section(tg: FakeTelegramApi, **extra: Any) -> dict[str, Any]:
    return section(tg.url, dmPolicy="open", allowFrom=["*"], **extra)


def test_allowed_dm_is_run_and_answered_with_typing_and_context(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, section(tg.url, dmPolicy="allowlist", allowFrom=["@Alice"]))
    host.delay_s = 0.3

    async def scenario() -> None:
        async with running(host) as ch:
            await polling(tg)
            assert [c.method for c in tg.calls()][:3] == ["getMe", "deleteWebhook", "getUpdates"]
            assert tg.calls("getMe")[0].http == "GET"
            assert tg.calls("deleteWebhook")[0].payload == {"drop_pending_updates": False}
            first_poll = tg.calls("getUpdates")[0].payload
            assert first_poll["timeout"] == 30 and first_poll["limit"] == 100 and "offset" not in first_poll
            uid = tg.inject_dm(ALICE, "hello **bot**", username="alice", first_name="Alice")
            sent = await tg.await_call("sendMessage")
            assert sent.status == 200
            assert sent.payload == {"chat_id": str(ALICE), "text": "Echo: hello <b>bot</b>", "parse_mode": "HTML"}
            typing = tg.calls("sendChatAction")
            assert typing and typing[0].payload == {"chat_id": ALICE, "action": "typing"} and typing[0].at < sent.at
            (run,) = host.calls
            assert run["message"] == "hello **bot**" and run["idempotencyKey"] == f"telegram:default:{uid}"
            assert run["sessionKey"] == "agent:main:main"
            assert '"chat_id":"telegram:555001"' in run["extraSystemPrompt"] and '"username":"alice"' in run["extraSystemPrompt"]
            await polling(tg, 2)
            assert tg.calls("getUpdates")[1].payload["offset"] == uid + 1  # confirms the update
            st = await until(lambda: (x := ch.status())["lastOutboundAt"] and x, "the reply recorded")
            assert st["connected"] is True and st["lifecycle"] == "ready" and st["linked"] is True
            assert st["lastInboundAt"] and st["lastOutboundAt"] and st["bot"] == {"id": 7000001, "username": "fake_oc_bot"}
            assert st["tokenSource"] == "config" and st["mode"] == "polling" and st["reconnectAttempts"] == 0

    asyncio.run(scenario())


def test_unknown_sender_gets_one_pairing_reply_and_no_run_until_approved(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, section(tg.url))  # dmPolicy pairing (default)

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            tg.inject_dm(BOB, "let me in", username="bob", first_name="Bob")
            reply = await tg.await_call("sendMessage")
            store = ChannelPairingStore(tmp_path)
            (req,) = store.list_requests("telegram")
            code = req["code"]
            assert reply.payload == {"chat_id": BOB, "text": pairing_text(str(BOB), code), "parse_mode": "HTML"}
            assert reply.payload["text"] == (
                f"OpenClaw: access not configured.\n\nYour Telegram user id: {BOB}\nPairing code:\n\n<pre><code>{code}\n"
                f"</code></pre>\nAsk the bot owner to approve with:\n\n<pre><code>openclaw pairing approve telegram {code}\n"
                "</code></pre>")
            assert req["meta"]["username"] == "bob" and req["meta"]["firstName"] == "Bob"
            for text in ("again", "and again"):
                tg.inject_dm(BOB, text, username="bob")
            await until(lambda: not tg.pending_updates() and len(tg.calls("getUpdates")) >= 3, "repeats consumed")
            await asyncio.sleep(0.2)  # a wrong second reply would be on its way by now
            assert len(tg.sent_texts(BOB)) == 1 and host.calls == []
            assert store.approve("telegram", code) is not None
            tg.inject_dm(BOB, "now hello", username="bob")
            await until(lambda: "Echo: now hello" in tg.sent_texts(BOB), "the run after approval")
            assert [c["message"] for c in host.calls] == ["now hello"]

    asyncio.run(scenario())


def test_allowlist_and_disabled_drop_strangers_silently(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, section(tg.url, dmPolicy="allowlist", allowFrom=["telegram:555001"]))

    async def scenario() -> None:
        async with running(host) as ch:
            await polling(tg)
            tg.inject_dm(BOB, "hi", username="bob")
            tg.inject_dm(ALICE, "hi")
            await until(lambda: tg.sent_texts(ALICE), "Alice's reply")
            await until(lambda: ch.spool is not None and ch.spool.counts()["done"] == 2, "both updates handled")
            assert tg.sent_texts(BOB) == [] and [c["message"] for c in host.calls] == ["hi"]

    asyncio.run(scenario())


def test_long_reply_is_chunked_into_valid_html_within_the_limit(tg: FakeTelegramApi, tmp_path: Path) -> None:
    paragraph = "Some **bold** text with `code <x>` & an [link](https://example.org/?a=1&b=2). " * 12
    body = "\n\n".join([paragraph] * 10) + "\n\n```python\n" + "print('x < y')\n" * 400 + "```\nThe end."
    host = FakeHost(tmp_path, open_section(tg), reply=lambda p: body)

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            tg.inject_dm(CAROL, "long please")
            await until(lambda: (t := tg.sent_texts(CAROL)) and t[-1].endswith("The end."), "every chunk", 15)
            calls = tg.calls("sendMessage")
            assert len(calls) >= 4 and all(c.status == 200 for c in calls)  # the fake parses each as Telegram does
            for c in calls:
                assert len(c.payload["text"]) <= 4000
                parse_html(c.payload["text"])
            joined = "".join(parse_html(c.payload["text"]) for c in calls)
            assert joined.count("print('x < y')") == 400 and joined.count("bold") == 120

    asyncio.run(scenario())


def test_429_on_a_reply_is_honoured(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, open_section(tg))

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            tg.fail_next(1, status=429, retry_after=1, methods="sendMessage")
            tg.inject_dm(ALICE, "hi")
            await until(lambda: tg.sent_texts(ALICE), "the reply after the 429", 10)
            refused, ok = tg.calls("sendMessage")[:2]
            assert refused.status == 429 and ok.status == 200
            assert ok.at - refused.at >= 1.0

    asyncio.run(scenario())


def test_bad_token_is_fatal_at_once_and_never_polls(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, section(tg.url) | {"botToken": "999:WRONG"})

    async def scenario() -> None:
        async with running(host) as ch:
            await until(lambda: host.fatal_reasons, "fatal")
            assert "401" in host.fatal_reasons[0] and "getMe" in host.fatal_reasons[0]
            st = ch.status()
            assert st["lifecycle"] == "fatal" and st["running"] is False and "401" in st["lastError"]
            assert [c.method for c in tg.calls()] == ["getMe"]
            with pytest.raises(GatewayError) as err:
                await ch.send({"to": str(ALICE), "message": "x"})
            assert err.value.code == "UNAVAILABLE"

    asyncio.run(scenario())


def test_token_revoked_while_polling_is_fatal(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, open_section(tg))

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            tg.revoke(TOKEN)  # the waiting getUpdates is answered 401
            await until(lambda: host.fatal_reasons, "fatal")
            assert "getUpdates: 401" in host.fatal_reasons[0]

    asyncio.run(scenario())


def test_a_dropped_connection_mid_poll_is_retried_and_nothing_is_lost(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, open_section(tg))

    async def scenario() -> None:
        async with running(host) as ch:
            await polling(tg)
            tg.drop_next(2, methods="getUpdates")
            first = tg.inject_dm(ALICE, "one")  # answers the waiting poll; the next two polls are cut
            await until(lambda: len(tg.calls("getUpdates")) >= 4, "two cut polls and a third one", 15)
            tg.inject_dm(ALICE, "two")
            await until(lambda: len(tg.sent_texts(ALICE)) == 2, "both replies", 15)
            assert tg.sent_texts(ALICE) == ["Echo: one", "Echo: two"]
            polls = tg.calls("getUpdates")
            assert [c.status for c in polls[1:3]] == [0, 0]
            assert all(c.payload["offset"] == first + 1 for c in polls[1:4])  # the cut polls confirmed nothing new
            await until(lambda: ch.status()["connected"], "connected again")
            assert ch.status()["reconnectAttempts"] == 2

    asyncio.run(scenario())


def test_webhook_mode_spools_inbound_and_answers_durable(tg: FakeTelegramApi, tmp_path: Path) -> None:
    secret = "hook-secret_01"

    async def scenario() -> None:
        channel: dict[str, TelegramChannel] = {}

        async def front_door(request: web.Request) -> web.Response:  # what the gateway's front-end does
            if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
                return web.Response(status=401, text="unauthorized")
            status, headers, body = await channel["ch"].inbound(dict(request.headers), await request.read())
            return web.Response(status=status, headers=headers, body=body)

        app = web.Application()
        app.router.add_post("/telegram-webhook", front_door)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/telegram-webhook"
        host = FakeHost(tmp_path, open_section(tg, webhookUrl=url, webhookSecret=secret))
        try:
            async with running(host) as ch:
                channel["ch"] = ch
                hook = await tg.await_call("setWebhook")
                assert hook.payload["url"] == url and hook.payload["secret_token"] == secret
                uid = tg.inject_dm(ALICE, "via webhook")
                delivered = await asyncio.to_thread(tg.wait_for_delivery, uid)
                assert delivered[2] == 200
                await until(lambda: tg.sent_texts(ALICE) == ["Echo: via webhook"], "the reply")
                assert not tg.calls("getUpdates") and ch.status()["mode"] == "webhook"
                status, headers, _ = await ch.inbound({}, b'{"update_id": 5, "message": {"message_id": 1, '
                                                          b'"chat": {"id": 555001, "type": "private"}, "from": '
                                                          b'{"id": 555001, "is_bot": false, "first_name": "A"}, '
                                                          b'"text": "direct"}}')
                assert status == 200 and headers == {"x-openclaw-delivery-accepted": "durable"}
                again = await ch.inbound({}, b'{"update_id": 5, "message": {}}')  # a redelivery: no second run
                assert again[0] == 200
                assert (await ch.inbound({}, b"not json"))[0] == 400
                assert (await ch.inbound({}, b'{"update_id": "x"}'))[0] == 400
                await until(lambda: "Echo: direct" in tg.sent_texts(ALICE), "the direct post's reply")
                await asyncio.sleep(0.1)
                assert tg.sent_texts(ALICE).count("Echo: direct") == 1
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_restart_mid_run_neither_loses_nor_repeats_an_update(tg: FakeTelegramApi, tmp_path: Path) -> None:
    """Stop while runs are in flight (rows `running`), start a new channel on the same spool: each update is
    dispatched again with the same idempotency key (the agent runs it once) and answered exactly once."""
    host = FakeHost(tmp_path, open_section(tg))

    async def scenario() -> None:
        host.gate = asyncio.Event()
        async with running(host):
            await polling(tg)
            ids = [tg.inject_dm(ALICE + i, f"m{i}") for i in range(5)]
            await until(lambda: len(host.executions) == 5, "five runs started")
        assert tg.sent_texts() == []
        spool = IngressSpool(spool_path(tmp_path, "default"))
        assert spool.counts()["running"] == 5 and spool.offset == ids[-1] + 1
        spool.close()
        host.gate.set()
        async with running(host):
            await until(lambda: len(tg.sent_texts()) == 5, "five replies", 10)
            await polling(tg, 3)
        assert sorted(tg.sent_texts()) == [f"Echo: m{i}" for i in range(5)]
        assert sorted(host.executions) == sorted(f"telegram:default:{u}" for u in ids)  # each run once
        assert tg.pending_updates() == []

    asyncio.run(scenario())


def test_chats_run_in_parallel_but_each_chat_in_order(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, open_section(tg))
    host.delay_s = 0.2

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            started = time.monotonic()
            for n in range(3):
                for chat in (ALICE, BOB, CAROL):
                    tg.inject_dm(chat, f"{chat}-{n}")
            await until(lambda: len(tg.sent_texts()) == 9, "nine replies", 10)
            elapsed = time.monotonic() - started
            for chat in (ALICE, BOB, CAROL):
                assert tg.sent_texts(chat) == [f"Echo: {chat}-{n}" for n in range(3)]
            assert host.max_active == 3  # one run per chat at a time, the three chats together
            assert elapsed < 3 * 0.2 * 3  # serial would take 1.8 s

    asyncio.run(scenario())


def test_groups_need_an_entry_an_allowed_sender_and_a_mention(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, section(tg.url, allowFrom=[ALICE], groups={"-100777": {"requireMention": True}}))

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            tg.inject_group(-100999, ALICE, "@fake_oc_bot in an unknown group")
            tg.inject_group(-100777, BOB, "@fake_oc_bot from a stranger")
            tg.inject_group(-100777, ALICE, "no mention here")
            tg.inject_group(-100777, ALICE, "hey @fake_oc_bot2 (another bot)")
            tg.inject_group(-100777, ALICE, "hey @Fake_OC_Bot what's up")
            await until(lambda: tg.sent_texts(-100777), "the group reply")
            assert tg.sent_texts(-100777) == ["Echo: hey @Fake_OC_Bot what's up"]
            (run,) = host.calls
            assert run["sessionKey"] == "agent:main:telegram:group:-100777" and '"is_group_chat":true' in run["extraSystemPrompt"]
            reaction = await tg.await_call("setMessageReaction")
            assert reaction.payload["chat_id"] == -100777 and reaction.payload["reaction"] == [{"type": "emoji", "emoji": "👀"}]
            assert tg.sent_texts(-100999) == [] and tg.sent_texts(BOB) == []

    asyncio.run(scenario())


def test_run_failures_reply_an_error_and_unavailable_agents_are_retried(tg: FakeTelegramApi, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel_module, "RUN_RETRY_BASE_S", 0.1)
    host = FakeHost(tmp_path, open_section(tg))

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            host.fail_with = run_failed("model overloaded")
            tg.inject_dm(ALICE, "fail please")
            await until(lambda: tg.sent_texts(ALICE), "the error reply")
            assert tg.sent_texts(ALICE) == ["⚠️ model overloaded"]
            host.fail_with = unavailable()
            tg.inject_dm(BOB, "agent down")
            await until(lambda: len([c for c in host.calls if c["message"] == "agent down"]) >= 2, "a retry", 10)
            host.fail_with = None
            await until(lambda: tg.sent_texts(BOB) == ["Echo: agent down"], "the reply once the agent is back", 10)

    asyncio.run(scenario())


def test_unparsable_html_is_resent_as_plain_text(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, open_section(tg))

    async def scenario() -> None:
        async with running(host):
            await polling(tg)
            tg.fail_next(1, status=400, description="Bad Request: can't parse entities: Unsupported start tag \"x\" "
                                                    "at byte offset 0", methods="sendMessage")
            tg.inject_dm(ALICE, "**hi** & <bye>")
            await until(lambda: tg.sent_texts(ALICE), "the plain retry")
            refused, plain = tg.calls("sendMessage")
            assert refused.payload["parse_mode"] == "HTML" and refused.payload["text"] == "Echo: <b>hi</b> &amp; &lt;bye&gt;"
            assert plain.payload == {"chat_id": str(ALICE), "text": "Echo: hi & <bye>"}

    asyncio.run(scenario())


def test_operator_send_text_username_media_and_errors(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, section(tg.url))

    async def scenario() -> None:
        async with running(host) as ch:
            await polling(tg)
            tg.add_chat(ALICE, username="alice")
            out = await ch.send({"to": str(ALICE), "message": "hi *there*"})
            assert out == {"messageId": "1", "chatId": str(ALICE)}
            assert tg.calls("sendMessage")[-1].payload == {"chat_id": str(ALICE), "text": "hi <i>there</i>",
                                                            "parse_mode": "HTML"}
            out = await ch.send({"to": "@Alice", "message": "by name", "silent": True})
            assert out["chatId"] == str(ALICE) and tg.calls("getChat")[-1].payload == {"chat_id": "@Alice"}
            assert tg.calls("sendMessage")[-1].payload["disable_notification"] is True
            with pytest.raises(GatewayError) as err:
                await ch.send({"to": "@nobody", "message": "x"})
            assert err.value.code == "UNAVAILABLE" and err.value.message.startswith(
                "OutboundDeliveryError: Telegram recipient @nobody could not be resolved to a numeric chat ID")
            assert err.value.details == {"code": "OUTBOUND_DELIVERY_QUEUED"}
            with pytest.raises(GatewayError) as err:
                await ch.send({"to": "424242", "message": "x"})
            assert "chat not found" in err.value.message
            data = b"%PDF-1.4 fake"
            out = await ch.send({"to": str(ALICE), "message": "the report", "buffer": base64.b64encode(data).decode(),
                                 "filename": "report.pdf"})
            doc = tg.calls("sendDocument")[-1]
            assert doc.files["document"]["filename"] == "report.pdf" and doc.files["document"]["data"] == data
            assert doc.files["document"]["content_type"] == "application/pdf" and doc.payload["caption"] == "the report"
            await ch.send({"to": str(ALICE), "mediaUrl": "https://example.org/cat.jpg"})
            assert tg.calls("sendPhoto")[-1].payload == {"chat_id": str(ALICE), "photo": "https://example.org/cat.jpg"}
            long_text = "word " * 2000
            await ch.send({"to": str(ALICE), "message": long_text, "mediaUrl": "https://example.org/cat.png"})
            assert len(tg.calls("sendMessage")) >= 4 and "caption" not in tg.calls("sendPhoto")[-1].payload
            with pytest.raises(GatewayError):
                await ch.send({"to": str(ALICE), "message": "x", "buffer": "not base64!"})

    asyncio.run(scenario())


def test_probe_and_status_shapes(tg: FakeTelegramApi, tmp_path: Path) -> None:
    host = FakeHost(tmp_path, section(tg.url))

    async def scenario() -> None:
        async with running(host) as ch:
            await polling(tg)
            probe = await ch.probe(5.0)
            assert probe["ok"] is True and probe["status"] is None and probe["error"] is None
            assert probe["botInfo"]["username"] == "fake_oc_bot" and probe["botInfo"]["can_manage_bots"] is False
            assert probe["bot"]["canManageBots"] is None and probe["bot"]["canJoinGroups"] is True
            assert probe["bot"]["isBot"] is True and isinstance(probe["elapsedMs"], int)
            tg.revoke(TOKEN)
            bad = await ch.probe(5.0)
            assert bad == {"ok": False, "status": 401, "error": "Unauthorized", "elapsedMs": bad["elapsedMs"]}
            st = ch.status()
            for key in ("accountId", "enabled", "configured", "running", "connected", "lifecycle", "mode", "tokenSource",
                        "tokenStatus", "lastStartAt", "lastStopAt", "lastConnectedAt", "lastInboundAt", "lastOutboundAt",
                        "lastEventAt", "lastTransportActivityAt", "lastError", "lastProbeAt", "reconnectAttempts"):
                assert key in st, key

    asyncio.run(scenario())


def test_config_refusals_and_the_unconfigured_account(tmp_path: Path) -> None:
    async def start(section: dict[str, Any]) -> TelegramChannel:
        ch = TelegramChannel(FakeHost(tmp_path, section))  # type: ignore[arg-type]
        await ch.start()
        return ch

    async def scenario() -> None:
        with pytest.raises(ConfigRefusal, match="botToken"):
            await start({"botToken": " ", "apiRoot": "http://127.0.0.1:9"})
        with pytest.raises(ConfigRefusal, match="tokenFile"):
            await start({"tokenFile": str(tmp_path / "missing"), "apiRoot": "http://127.0.0.1:9"})
        with pytest.raises(ConfigRefusal, match="apiRoot"):
            await start({"botToken": "1:a", "apiRoot": "ftp://x"})
        token_file = tmp_path / "token"
        token_file.write_text("222:FROMFILE\n")
        ch = await start({"tokenFile": str(token_file), "botToken": "1:a", "apiRoot": "http://127.0.0.1:9"})
        assert ch.token == "222:FROMFILE" and ch.status()["tokenSource"] == "file"
        await ch.stop()
        ch = await start({"apiRoot": "http://127.0.0.1:9"})
        st = ch.status()
        assert st["configured"] is False and st["lifecycle"] == "unconfigured" and st["running"] is False
        assert (await ch.probe(1.0))["ok"] is False
        with pytest.raises(GatewayError):
            await ch.send({"to": "1", "message": "x"})
        await ch.stop()

    asyncio.run(scenario())


def test_a_refused_webhook_url_is_fatal(tg: FakeTelegramApi, tmp_path: Path) -> None:
    # the fake refuses non-loopback webhook URLs as Telegram refuses bad ones (400 "bad webhook"), never calling them
    host = FakeHost(tmp_path, open_section(tg, webhookUrl="http://example.com/hook", webhookSecret="s3cret"))

    async def scenario() -> None:
        async with running(host) as ch:
            await until(lambda: host.fatal_reasons, "fatal")
            assert host.fatal_reasons[0].startswith("telegram setWebhook refused webhookUrl: Bad Request: bad webhook")
            assert ch.status()["lifecycle"] == "fatal" and not tg.calls("getUpdates")

    asyncio.run(scenario())
