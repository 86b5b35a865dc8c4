"""The Bot API client (workers/channel/telegram/bot_api.py) against the fake Bot API on 127.0.0.1: the
retry policy (429 retry_after honoured, network errors and 5xx retried, 401 and 4xx not), uploads,
timeouts, and the token never showing in an error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from openclaw.workers.channel.telegram.bot_api import (
    BotApi,
    InputFile,
    TelegramApiError,
    TelegramNetworkError,
    TelegramUnauthorized,
)

from ..fakes.telegram_api import FakeTelegramApi
from ..harness import free_port

TOKEN = "111:AAA"
CHAT = 555001


@pytest.fixture
def tg() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi(tokens={TOKEN: "fake_oc_bot"}) as api:
        api.add_chat(CHAT)
        yield api


def run(coro_fn, *args):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        api = BotApi(*args)
        try:
            return await coro_fn(api)
        finally:
            await api.close()

    return asyncio.run(main())


def test_429_waits_retry_after_then_succeeds(tg: FakeTelegramApi) -> None:
    tg.fail_next(1, status=429, retry_after=1, methods="sendMessage")

    async def go(api: BotApi) -> float:
        started = time.monotonic()
        msg = await api.call("sendMessage", {"chat_id": str(CHAT), "text": "x"})
        assert msg["message_id"] == 1 and msg["chat"]["id"] == CHAT
        return time.monotonic() - started

    assert run(go, TOKEN, tg.url) >= 1.0
    refused, ok = tg.calls("sendMessage")
    assert (refused.status, ok.status) == (429, 200) and ok.at - refused.at >= 1.0


def test_retries_are_bounded_and_a_long_retry_after_is_not_waited(tg: FakeTelegramApi) -> None:
    tg.fail_next(10, status=429, retry_after=0, methods="sendMessage")

    async def exhausted(api: BotApi) -> None:
        with pytest.raises(TelegramApiError) as err:
            await api.call("sendMessage", {"chat_id": str(CHAT), "text": "x"}, retries=2)
        assert err.value.error_code == 429 and err.value.retry_after == 0

    run(exhausted, TOKEN, tg.url)
    assert len(tg.calls("sendMessage")) == 3
    tg.fail_next(1, status=429, retry_after=3600, methods="getChat")

    async def too_long(api: BotApi) -> None:
        started = time.monotonic()
        with pytest.raises(TelegramApiError) as err:
            await api.call("getChat", {"chat_id": CHAT})
        assert err.value.retry_after == 3600 and time.monotonic() - started < 1.0

    run(too_long, TOKEN, tg.url)


def test_dropped_connections_and_5xx_are_retried(tg: FakeTelegramApi) -> None:
    tg.drop_next(1, methods="sendMessage")
    tg.fail_next(1, status=502, methods="sendMessage")  # an HTML 502 from a proxy, not a Bot API answer

    async def go(api: BotApi) -> None:
        msg = await api.call("sendMessage", {"chat_id": str(CHAT), "text": "x"})
        assert msg["text"] == "x"

    run(go, TOKEN, tg.url)
    assert [c.status for c in tg.calls("sendMessage")] == [0, 502, 200]


def test_401_and_other_4xx_are_raised_at_once(tg: FakeTelegramApi) -> None:
    async def unauthorized(api: BotApi) -> None:
        with pytest.raises(TelegramUnauthorized) as err:
            await api.call("getMe")
        assert err.value.error_code == 401 and err.value.description == "Unauthorized" and not err.value.transient

    run(unauthorized, "999:BAD", tg.url)
    assert len(tg.calls("getMe")) == 1 and tg.calls("getMe")[0].http == "GET"

    async def bad_request(api: BotApi) -> None:
        with pytest.raises(TelegramApiError) as err:
            await api.call("sendMessage", {"chat_id": "424242", "text": "x"})
        assert err.value.error_code == 400 and err.value.description == "Bad Request: chat not found"
        with pytest.raises(TelegramApiError) as err:
            await api.call("sendMessage", {"chat_id": str(CHAT), "text": "<b>x", "parse_mode": "HTML"})
        assert err.value.cant_parse_entities

    run(bad_request, TOKEN, tg.url)
    assert len(tg.calls("sendMessage")) == 2


def test_network_failures_and_timeouts_never_show_the_token(tg: FakeTelegramApi) -> None:
    secret = "123456:SECRET-token"

    async def refused(api: BotApi) -> None:
        with pytest.raises(TelegramNetworkError) as err:
            await api.call("getMe", retries=1)
        assert err.value.transient and secret not in str(err.value) and "network error" in str(err.value)

    run(refused, secret, f"http://127.0.0.1:{free_port()}")
    tg.delay_next(1, 2.0, methods="getMe")

    async def slow(api: BotApi) -> None:
        started = time.monotonic()
        with pytest.raises(TelegramNetworkError, match="timed out"):
            await api.call_once("getMe", timeout=0.3)
        assert time.monotonic() - started < 1.5

    run(slow, TOKEN, tg.url)


def test_multipart_upload_and_json_fields(tg: FakeTelegramApi) -> None:
    data = bytes(range(256)) * 100

    async def go(api: BotApi) -> None:
        first = await api.call("sendMessage", {"chat_id": str(CHAT), "text": "target"})
        msg = await api.call("sendDocument", {"chat_id": str(CHAT), "caption": "c", "reply_parameters": {
            "message_id": first["message_id"]}}, files={"document": InputFile("blob.bin", data)})
        assert msg["document"]["file_size"] == len(data) and msg["reply_to_message"]["text"] == "target"

    run(go, TOKEN, tg.url)
    call = tg.calls("sendDocument")[0]
    assert call.files["document"]["data"] == data and call.files["document"]["filename"] == "blob.bin"
    assert call.payload == {"chat_id": str(CHAT), "caption": "c", "reply_parameters": '{"message_id": 1}'}
