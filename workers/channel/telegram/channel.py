"""The Telegram channel of one account (`channels.telegram`, or `channels.telegram.accounts.<id>`).

    start -> getMe (retried with backoff; 401 -> FATAL) -> deleteWebhook (polling) | setWebhook (webhook)
          -> polling: getUpdates long poll -> spool (durable, with the offset) -> dispatcher
             webhook: the front-end's POST -> inbound() -> spool -> dispatcher
    dispatcher: per chat, in update order (chats in parallel, at most MAX_PARALLEL_CHATS):
          policy -> drop | pairing reply (once, via the pairing store) | agent run -> reply chunks

Every inbound message is spooled before it is processed (spool.py says why nothing is lost or repeated);
the run's idempotency key is `telegram:<account>:<update_id>`, so a re-dispatch after a crash joins the
agent's cached or in-flight run. While a run is active the chat sees "typing" (sendChatAction every 4 s).

Lifecycle (status()["lifecycle"]): starting -> connecting -> ready <-> reconnecting; fatal (401: the worker
exits 78); stopped; unconfigured (no token at all: nothing to connect, configured:false as upstream).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import os
import re
import sqlite3
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from openclaw.ipc.channel_pairing import ChannelPairingStore
from openclaw.ipc.channels_config import telegram_token
from openclaw.ipc.errors import ConfigRefusal, ErrorCode, GatewayError

from ..host import RunFailed, reply_text
from .bot_api import (
    BotApi,
    TelegramApiError,
    TelegramUnauthorized,
    backoff_s,
)
from .format import DEFAULT_CHUNK_LIMIT, Chunk, to_chunks, utf16_len
from .outbound import (
    SEND_RETRIES,
    SEND_TIMEOUT_S,
    media_of,
    resolve_chat,
    send_media,
    send_text,
)
from .policy import ADMIT, DROP, PAIRING, Decision, Inbound, Policy, parse_inbound
from .spool import DONE, PENDING, REPLYING, RUNNING, IngressSpool, SpoolRow, is_update, spool_path

if TYPE_CHECKING:
    from ..host import ChannelHost

__all__ = ["ALLOWED_UPDATES", "TelegramChannel", "pairing_text"]

API_ROOT_ENV = "OPENCLAW_TELEGRAM_API_ROOT"  # the default Bot API root when apiRoot is not set (tests, mirrors)
POLL_TIMEOUT_S = 30
POLL_LIMIT = 100
TYPING_EVERY_S = 4.0
MAX_PARALLEL_CHATS = 16
MAX_INBOUND_CHARS = 16_384
MAX_ERROR_REPLY_CHARS = 500
RUN_UNAVAILABLE_ATTEMPTS = 8  # the agent worker is down: retried with backoff (≈1 min), then given up
RUN_RETRY_BASE_S = 1.0
REPLY_GRACE_S = 1.5  # stop(): a reply being sent gets this long to finish
CAPTION_LIMIT = 1024
ACK_EMOJI = "👀"
CONTEXT_MARKER = "⟦openclaw:ctx⟧"
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
                   "business_message", "edited_business_message", "deleted_business_messages", "guest_message",
                   "inline_query", "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
                   "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "managed_bot",
                   "chat_join_request", "chat_boost", "removed_chat_boost", "subscription", "message_reaction"]
_TARGET_PREFIX = re.compile(r"^(telegram|tg):", re.IGNORECASE)


def _now_ms() -> int:
    return int(time.time() * 1000)


def pairing_text(sender_id: str, code: str) -> str:
    """The one reply an unknown sender gets under dmPolicy "pairing" (spec §6.4.1, verbatim)."""
    return (f"OpenClaw: access not configured.\n\nYour Telegram user id: {sender_id}\nPairing code:\n\n"
            f"<pre><code>{code}\n</code></pre>\nAsk the bot owner to approve with:\n\n"
            f"<pre><code>openclaw pairing approve telegram {code}\n</code></pre>")


def bot_summary(me: dict[str, Any]) -> dict[str, Any]:
    """The probe's camelCase `bot` (upstream probeTelegram: booleans the API did not send are null)."""
    def flag(key: str) -> bool | None:
        v = me.get(key)
        return v if isinstance(v, bool) else None

    return {
        "id": me.get("id") if isinstance(me.get("id"), int) else None, "isBot": flag("is_bot"),
        "firstName": me.get("first_name") if isinstance(me.get("first_name"), str) else None,
        "username": me.get("username") if isinstance(me.get("username"), str) else None,
        "canJoinGroups": flag("can_join_groups"), "canReadAllGroupMessages": flag("can_read_all_group_messages"),
        "canManageBots": flag("can_manage_bots"), "supportsInlineQueries": flag("supports_inline_queries"),
        "canConnectToBusiness": flag("can_connect_to_business"), "hasMainWebApp": flag("has_main_web_app"),
        "hasTopicsEnabled": flag("has_topics_enabled"), "allowsUsersToCreateTopics": flag("allows_users_to_create_topics"),
    }


def bot_info(me: dict[str, Any]) -> dict[str, Any] | None:
    """The probe's `botInfo` (upstream normalizeTelegramBotInfo: missing booleans are false)."""
    if not (isinstance(me.get("id"), int) and me.get("is_bot") is True and isinstance(me.get("first_name"), str)
            and isinstance(me.get("username"), str)):
        return None
    out: dict[str, Any] = {"id": me["id"], "is_bot": True, "first_name": me["first_name"], "username": me["username"]}
    for key in ("last_name", "language_code"):
        if isinstance(me.get(key), str):
            out[key] = me[key]
    for key in ("can_join_groups", "can_read_all_group_messages", "can_manage_bots", "supports_inline_queries",
                "supports_join_request_queries", "can_connect_to_business", "has_main_web_app", "has_topics_enabled",
                "allows_users_to_create_topics"):
        out[key] = me.get(key) if isinstance(me.get(key), bool) else False
    return out


def inbound_context(msg: Inbound, account_id: str) -> str:
    """The inbound context block the run sees (spec §6.4.4; upstream's "Conversation info" JSON block)."""
    sender: dict[str, Any] = {"id": str(msg.sender_id)}
    if msg.sender_name:
        sender["name"] = msg.sender_name
    if msg.sender_username:
        sender["username"] = msg.sender_username
    info: dict[str, Any] = {"chat_id": f"telegram:{msg.chat_id}", "message_id": str(msg.message_id), "sender": sender}
    if msg.date:
        info["timestamp"] = _dt.datetime.fromtimestamp(msg.date, _dt.UTC).strftime("%a %Y-%m-%d %H:%M UTC")
    if not msg.is_direct:
        title = msg.message.get("chat", {}).get("title")
        if isinstance(title, str):
            info["conversation_label"] = title
        info["is_group_chat"] = True
        info["was_mentioned"] = True
    if msg.thread_id is not None:
        info["topic_id"] = str(msg.thread_id)
    if account_id != "default":
        info["account_id"] = account_id
    return (f"Inbound message on the Telegram channel.\n\nConversation info: {CONTEXT_MARKER}\n```json\n"
            f"{json.dumps(info, ensure_ascii=False, separators=(',', ':'))}\n```")


class TelegramChannel:
    """`ChannelImpl` for Telegram (workers/channel/host.py). Constructed by the channel worker with its host."""

    def __init__(self, host: ChannelHost) -> None:
        self.host = host
        self.account_id = host.account.account_id
        self.section: dict[str, Any] = dict(host.account.section)
        self.log = host.log
        self.token, self.token_source = telegram_token(self.section, self.account_id, os.environ)
        self.api_root = str(self.section.get("apiRoot") or os.environ.get(API_ROOT_ENV) or "https://api.telegram.org")
        self.mode = "webhook" if self.section.get("webhookUrl") else "polling"
        limit = self.section.get("textChunkLimit")
        self.chunk_limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else DEFAULT_CHUNK_LIMIT
        self.policy = Policy(self.section)
        self.api: BotApi | None = None
        self.spool: IngressSpool | None = None
        self.pairing = ChannelPairingStore(host.state_dir)
        self.bot: dict[str, Any] | None = None
        # status
        self.lifecycle = "starting"
        self.started_at: int | None = None
        self.stopped_at: int | None = None
        self.connected_at: int | None = None
        self.last_inbound_at: int | None = None
        self.last_outbound_at: int | None = None
        self.last_event_at: int | None = None
        self.last_error: str | None = None
        self.last_probe_at: int | None = None
        self.reconnect_attempts = 0
        # work
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None
        self._chats: dict[str, asyncio.Task[None]] = {}
        self._replying: set[asyncio.Task[Any]] = set()
        self._side: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ ChannelImpl

    @property
    def configured(self) -> bool:
        return bool(self.token)

    def _check_config(self) -> None:
        where = "channels.telegram" if self.account_id == "default" else f"channels.telegram.accounts.{self.account_id}"
        if self.token_source == "file" and not self.token:
            raise ConfigRefusal(f"{where}.tokenFile: cannot read a bot token from {self.section.get('tokenFile')!r}")
        raw = self.section.get("botToken")
        if not self.token and raw is not None:
            raise ConfigRefusal(f"{where}.botToken is empty (set a bot token, a tokenFile or TELEGRAM_BOT_TOKEN)")
        if self.token and (len(self.token) > 256 or any(c.isspace() or c == "/" for c in self.token)):
            raise ConfigRefusal(f"{where}.botToken is not a bot token (no spaces or slashes; at most 256 characters)")
        parts = urlsplit(self.api_root)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigRefusal(f"{where}.apiRoot must be an http(s) URL")
        if self.mode == "webhook" and not self.section.get("webhookSecret"):
            raise ConfigRefusal(f"{where}.webhookSecret is required with webhookUrl")

    async def start(self) -> None:
        self._check_config()
        self.started_at = _now_ms()
        if not self.configured:
            self.lifecycle = "unconfigured"
            self.log.info("telegram account has no bot token: not connecting", account=self.account_id)
            return
        self.spool = IngressSpool(spool_path(self.host.state_dir, self.account_id))
        closed = self.spool.recover()
        if closed:
            self.log.warn("replies interrupted by the last stop were not re-sent", count=closed)  # noqa: G010 - ipc.logs.Logger.warn
        self.api = BotApi(self.token or "", self.api_root)
        self.lifecycle = "connecting"
        self._main = asyncio.get_running_loop().create_task(self._run(), name=f"telegram:{self.account_id}")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self.lifecycle != "fatal":
            self.lifecycle = "stopped"
        self.stopped_at = _now_ms()
        if self._replying:
            await asyncio.wait(self._replying, timeout=REPLY_GRACE_S)
        tasks = [t for t in (self._main, *self._chats.values(), *self._side) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        if self.api is not None:
            await self.api.close()
        if self.spool is not None:
            self.spool.close()
            self.spool = None

    def status(self) -> dict[str, Any]:
        running = self.lifecycle not in ("stopped", "fatal", "unconfigured")
        api_at = self.api.last_activity_at if self.api is not None else None
        out: dict[str, Any] = {
            "accountId": self.account_id, "enabled": True, "configured": self.configured, "running": running,
            "connected": self.lifecycle == "ready", "linked": self.bot is not None, "lifecycle": self.lifecycle,
            "mode": self.mode, "tokenSource": self.token_source,
            "tokenStatus": "available" if self.token else "missing", "restartPending": False,
            "lastStartAt": self.started_at, "lastStopAt": self.stopped_at, "lastConnectedAt": self.connected_at,
            "lastInboundAt": self.last_inbound_at, "lastOutboundAt": self.last_outbound_at,
            "lastEventAt": self.last_event_at,
            "lastTransportActivityAt": int(api_at * 1000) if api_at else None,
            "lastError": self.last_error, "lastProbeAt": self.last_probe_at,
            "reconnectAttempts": self.reconnect_attempts,
            "allowUnmentionedGroups": any(g.get("requireMention") is False for g in self.policy.groups.values()),
            "dmPolicy": self.policy.dm_policy,
        }
        if self.bot is not None:
            out["bot"] = {"id": self.bot.get("id"), "username": self.bot.get("username")}
        if self.spool is not None:
            out["queued"] = self.spool.open_count()
            out["inFlight"] = len(self._chats)
        return out

    async def probe(self, timeout_s: float) -> dict[str, Any]:
        """getMe now (up to 3 tries within the budget, as upstream): {ok, status, error, botInfo?, bot?, elapsedMs}."""
        started = time.monotonic()
        self.last_probe_at = _now_ms()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        if self.api is None:
            return {"ok": False, "status": None, "error": "not configured: no bot token", "elapsedMs": 0}
        deadline = started + max(timeout_s, 0.05)
        last: TelegramApiError | None = None
        for attempt in range(3):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                me = await self.api.call_once("getMe", timeout=left)
            except TelegramApiError as exc:
                last = exc
                if exc.error_code is not None and exc.error_code < 500:
                    return {"ok": False, "status": exc.http_status or exc.error_code, "error": exc.description,
                            "elapsedMs": elapsed()}
                if attempt < 2:
                    await asyncio.sleep(min(max(timeout_s / 5, 0.05), 1.0, max(0.0, deadline - time.monotonic())))
                continue
            if isinstance(me, dict):
                self.bot = me
            out: dict[str, Any] = {"ok": True, "status": None, "error": None}
            info = bot_info(me if isinstance(me, dict) else {})
            if info is not None:
                out["botInfo"] = info
            out["bot"] = bot_summary(me if isinstance(me, dict) else {})
            out["elapsedMs"] = elapsed()
            return out
        error = last.description if last is not None else f"probe timed out after {int(timeout_s * 1000)}ms"
        return {"ok": False, "status": last.http_status if last is not None else None, "error": error,
                "elapsedMs": elapsed()}

    async def inbound(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """A webhook POST (secret already checked by the front-end): spooled durably, then 200."""
        plain = {"content-type": "text/plain; charset=utf-8"}
        if self.spool is None:
            return 503, {**plain, "retry-after": "5"}, b"telegram channel not running"
        try:
            update = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return 400, plain, b"bad request: not JSON"
        if not is_update(update):
            return 400, plain, b"bad request: not a Telegram update"
        if not self.spool.has_room():
            return 503, {**plain, "retry-after": "1"}, b"too many updates in progress; retry"
        if self.spool.store([update], advance_offset=False):
            self._wake.set()
        return 200, {"x-openclaw-delivery-accepted": "durable"}, b""

    async def send(self, req: dict[str, Any]) -> dict[str, Any]:
        """An operator's send: text (chunked) and/or media to a chat id or @username."""
        api = self._api_or_unavailable()
        to = _TARGET_PREFIX.sub("", str(req.get("to") or "").strip())
        if not to:
            raise GatewayError(ErrorCode.INVALID_REQUEST, "send needs a target: to (a chat id or @username)")
        chat_id = await resolve_chat(api, to)
        extra: dict[str, Any] = {}
        if req.get("replyToId") is not None:
            try:
                extra["reply_parameters"] = {"message_id": int(req["replyToId"]), "allow_sending_without_reply": True}
            except (TypeError, ValueError):
                raise GatewayError(ErrorCode.INVALID_REQUEST, "replyToId must be a Telegram message id") from None
        if req.get("threadId") is not None:
            try:
                extra["message_thread_id"] = int(req["threadId"])
            except (TypeError, ValueError):
                raise GatewayError(ErrorCode.INVALID_REQUEST, "threadId must be a Telegram topic id") from None
        if req.get("silent"):
            extra["disable_notification"] = True
        mode = {"html": "html", "plain": "plain", "none": "plain", "text": "plain"}.get(
            str(req.get("parseMode") or "").lower(), "markdown")
        text = str(req.get("message") or "")
        chunks = to_chunks(text, self.chunk_limit, mode) if text.strip() else []
        media = media_of(req, self.section.get("mediaMaxMb"))
        last_id: int | None = None
        try:
            caption: Chunk | None = None
            if media and len(chunks) == 1 and utf16_len(chunks[0].html) <= CAPTION_LIMIT:
                caption, chunks = chunks[0], []
            for chunk in chunks:
                msg = await send_text(api, str(chat_id), chunk, extra, mode != "plain", self.log)
                self.last_outbound_at = _now_ms()
                last_id = msg.get("message_id", last_id)
            for n, item in enumerate(media):
                msg = await send_media(api, str(chat_id), item, caption if n == 0 else None, extra,
                                       bool(req.get("forceDocument")))
                self.last_outbound_at = _now_ms()
                last_id = msg.get("message_id", last_id)
        except TelegramUnauthorized as exc:
            self._fatal(f"telegram {exc.method}: 401 Unauthorized (the bot token was refused)")
            raise GatewayError(ErrorCode.UNAVAILABLE, f"OutboundDeliveryError: {exc}") from None
        except TelegramApiError as exc:
            self._error(f"send failed: {exc}")
            if last_id is not None:  # part of it is in the chat: a retry with this key must not post that again
                raise GatewayError(ErrorCode.UNAVAILABLE, f"OutboundDeliveryError: partially delivered (the first part is "
                                   f"message {last_id}), then Telegram {exc}", retryable=False,
                                   details={"code": "OUTBOUND_DELIVERY_PARTIAL", "errorCode": exc.error_code}) from None
            raise GatewayError(ErrorCode.UNAVAILABLE, f"OutboundDeliveryError: Telegram {exc}",
                               retryable=exc.transient or exc.error_code == 429,
                               details={"code": "OUTBOUND_DELIVERY_FAILED", "errorCode": exc.error_code}) from None
        if last_id is None:
            raise GatewayError(ErrorCode.INVALID_REQUEST, "send needs a message or media")
        self.host.changed()
        return {"messageId": str(last_id), "chatId": str(chat_id)}

    # ------------------------------------------------------------------ connection

    def _api_or_unavailable(self) -> BotApi:
        if self.api is None:
            raise GatewayError(ErrorCode.UNAVAILABLE, f"telegram account {self.account_id} has no bot token")
        if self.lifecycle == "fatal":
            raise GatewayError(ErrorCode.UNAVAILABLE, f"telegram account {self.account_id}: {self.last_error}")
        return self.api

    async def _sleep(self, seconds: float) -> None:
        """Sleep, or return early when stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), max(0.0, seconds))
        except TimeoutError:
            pass

    def _error(self, message: str) -> None:
        self.last_error = message[:500]
        self.host.changed()

    def _fatal(self, reason: str) -> None:
        if self.lifecycle == "fatal":
            return
        self.lifecycle = "fatal"
        self.last_error = reason
        self.log.error("telegram token refused", reason=reason)
        self._stopping.set()
        self._wake.set()
        self.host.changed()
        self.host.fatal(reason)

    def _connected(self) -> None:
        if self.lifecycle != "ready":
            self.lifecycle = "ready"
            self.connected_at = _now_ms()
            self.last_error = None
            self.host.changed()

    def _disconnected(self, why: str) -> None:
        self.reconnect_attempts += 1
        if self.lifecycle == "ready":
            self.lifecycle = "reconnecting"
        self._error(why)

    async def _run(self) -> None:
        try:
            if not await self._connect():
                return
            dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
            self._side.add(dispatcher)
            if self.mode == "polling":
                await self._poll()
            else:
                await self._stopping.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a broken state file: the worker exits, the supervisor restarts it
            self.log.error("telegram channel crashed", error=repr(exc)[:500])
            self._error(f"internal error: {exc!r}"[:500])
            self.host.crash(f"telegram channel crashed: {exc!r}"[:500])

    async def _connect(self) -> bool:
        """getMe until it answers, then take or release the webhook. False when the token is refused."""
        assert self.api is not None
        attempt = 0
        while not self._stopping.is_set():
            try:
                me = await self.api.call_once("getMe", timeout=10.0)
                self.bot = me if isinstance(me, dict) else {}
                if isinstance(self.bot.get("id"), int) and self.spool is not None:
                    dropped = self.spool.bind_bot(self.bot["id"])
                    if dropped is not None:  # a new token: the old bot's offset would make Telegram drop this one's updates
                        self.log.warn("the account's bot changed: its offset starts afresh",  # noqa: G010 - ipc.logs.Logger.warn
                                      bot=self.bot.get("username"), droppedUnfinished=dropped)
                if self.mode == "polling":
                    await self.api.call("deleteWebhook", {"drop_pending_updates": False}, timeout=10.0)
                else:
                    await self.api.call("setWebhook", {"url": self.section["webhookUrl"],
                                                       "secret_token": self.section["webhookSecret"],
                                                       "allowed_updates": ALLOWED_UPDATES}, timeout=10.0)
                self.log.info("telegram connected", bot=self.bot.get("username"), mode=self.mode)
                self._connected()
                return True
            except TelegramUnauthorized as exc:
                self._fatal(f"telegram {exc.method}: 401 Unauthorized (the bot token was refused)")
                return False
            except TelegramApiError as exc:
                if exc.method == "getMe" and exc.error_code == 404:
                    self._fatal("telegram getMe: 404 Not Found (the bot token is malformed)")
                    return False
                if exc.method == "setWebhook" and exc.error_code == 400:  # the URL is refused: a config matter
                    self._fatal(f"telegram setWebhook refused webhookUrl: {exc.description}")
                    return False
                attempt += 1
                self._disconnected(f"{exc}")
                wait = exc.retry_after if exc.error_code == 429 and exc.retry_after else backoff_s(attempt)
                await self._sleep(wait)
        return False

    async def _poll(self) -> None:
        """getUpdates long polling. A batch is spooled with its offset before the next call confirms it."""
        assert self.api is not None and self.spool is not None
        failures = 0
        while not self._stopping.is_set():
            if not self.spool.has_room():  # back-pressure: Telegram keeps what we do not fetch
                self._wake.set()
                await self._sleep(0.2)
                continue
            payload: dict[str, Any] = {"timeout": POLL_TIMEOUT_S, "limit": POLL_LIMIT, "allowed_updates": ALLOWED_UPDATES}
            offset = self.spool.offset
            if offset is not None:
                payload["offset"] = offset
            try:
                updates = await self.api.call_once("getUpdates", payload, timeout=POLL_TIMEOUT_S + 15)
            except TelegramUnauthorized as exc:
                self._fatal(f"telegram {exc.method}: 401 Unauthorized (the bot token was refused)")
                return
            except TelegramApiError as exc:
                failures += 1
                self._disconnected(str(exc))
                if exc.error_code == 409 and "webhook" in exc.description:
                    try:
                        await self.api.call("deleteWebhook", {"drop_pending_updates": False}, timeout=10.0)
                    except TelegramApiError:
                        pass
                wait = exc.retry_after if exc.error_code == 429 and exc.retry_after else backoff_s(failures)
                self.log.warn("telegram getUpdates failed; retrying", error=str(exc)[:300], retry_in_s=round(wait, 2))  # noqa: G010 - ipc.logs.Logger.warn
                await self._sleep(wait)
                continue
            failures = 0
            self._connected()
            if isinstance(updates, list) and updates:
                try:
                    fresh = self.spool.store(updates)
                except sqlite3.Error as exc:  # not stored, so not confirmed: fetched again after the pause
                    self.log.error("telegram spool write failed", error=repr(exc)[:500])
                    self._error(f"spool write failed: {exc!r}"[:500])
                    await self._sleep(backoff_s(2))
                    continue
                if fresh:
                    self._wake.set()

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self) -> None:
        """Start a drain task per chat with unfinished updates (one at a time per chat, a bounded number)."""
        while not self._stopping.is_set() and self.spool is not None:
            self._wake.clear()
            try:
                self._start_chats(self.spool)
            except Exception as exc:  # noqa: BLE001 - e.g. the disk is full: say so, try again shortly
                self.log.error("telegram dispatch failed", error=repr(exc)[:500])
                self._error(f"dispatch failed: {exc!r}"[:500])
                await self._sleep(1.0)
                continue
            await self._wake.wait()

    def _start_chats(self, spool: IngressSpool) -> None:
        if len(self._chats) >= MAX_PARALLEL_CHATS:
            return
        for key in spool.open_chats(limit=len(self._chats) + MAX_PARALLEL_CHATS):
            if key in self._chats:
                continue
            if len(self._chats) >= MAX_PARALLEL_CHATS:
                break
            task = asyncio.get_running_loop().create_task(self._drain(key), name=f"telegram-chat:{key}")
            self._chats[key] = task
            task.add_done_callback(lambda _t, k=key: self._chat_done(k))

    def _chat_done(self, key: str) -> None:
        self._chats.pop(key, None)
        self._wake.set()

    async def _drain(self, key: str) -> None:
        while not self._stopping.is_set() and self.spool is not None:
            row = self.spool.next_for_chat(key)
            if row is None:
                return
            try:
                await self._process(row)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - never loop on one update: close it and say why
                self.log.error("telegram update failed", update_id=row.update_id, error=repr(exc)[:500])
                self._error(f"update {row.update_id}: {exc!r}"[:500])
                if self.spool is not None and (cur := self.spool.get(row.update_id)) and cur.state != DONE:
                    self.spool.advance(row.update_id, DONE, f"failed: {exc!r}"[:300])

    async def _process(self, row: SpoolRow) -> None:
        assert self.spool is not None
        self.last_event_at = _now_ms()
        if row.state == REPLYING:  # only after an interrupted stop inside this process
            self.spool.advance(row.update_id, DONE, "interrupted while replying; not re-sent")
            return
        msg = parse_inbound(row.update)
        if msg is not None and row.state == PENDING:
            self.last_inbound_at = _now_ms()
            self.host.changed()
        if self.policy.dm_policy == "pairing":  # the pairing store may be asked: a file read, off the loop
            decision = await asyncio.to_thread(self.policy.decide, msg, self.bot, self._is_paired)
        else:
            decision = self.policy.decide(msg, self.bot, self._is_paired)
        if decision.action == DROP or msg is None:
            self.spool.advance(row.update_id, DONE, f"dropped: {decision.reason}")
            self.log.debug("telegram update dropped", update_id=row.update_id, reason=decision.reason)
            return
        if decision.action == PAIRING:
            if row.state == PENDING:
                await self._pairing_reply(row, msg)
            else:
                self.spool.advance(row.update_id, DONE, "not admitted any more")
            return
        assert decision.action == ADMIT
        if row.state == PENDING:
            if decision.ack_reaction:
                self._side_task(self._react(msg))
            self.spool.advance(row.update_id, RUNNING)
        await self._run_and_reply(row, msg, decision)

    def _is_paired(self, sender_id: str) -> bool:
        return self.pairing.is_allowed("telegram", self.account_id, sender_id)

    async def _pairing_reply(self, row: SpoolRow, msg: Inbound) -> None:
        assert self.spool is not None and self.api is not None
        meta = {k: v for k, v in (("username", msg.sender_username),
                                  ("firstName", msg.message.get("from", {}).get("first_name")),
                                  ("lastName", msg.message.get("from", {}).get("last_name"))) if isinstance(v, str)}
        sender = str(msg.sender_id)
        code, created = await asyncio.to_thread(self.pairing.request, "telegram", self.account_id, sender, meta)
        if code is None or not created:
            reason = "pairing: already asked (no second reply)" if code else "pairing: too many pending requests"
            self.spool.advance(row.update_id, DONE, reason)
            return
        self.spool.advance(row.update_id, REPLYING, "pairing code")
        try:
            await self._replying_call(self.api.call("sendMessage", {
                "chat_id": msg.chat_id, "text": pairing_text(sender, code), "parse_mode": "HTML"},
                timeout=SEND_TIMEOUT_S, retries=SEND_RETRIES))
            self.last_outbound_at = _now_ms()
            note = "pairing code sent"
        except TelegramApiError as exc:
            self._error(f"pairing reply failed: {exc}")
            note = f"pairing reply failed: {exc}"[:300]
        if self.spool is not None:
            self.spool.advance(row.update_id, DONE, note)

    async def _run_and_reply(self, row: SpoolRow, msg: Inbound, decision: Decision) -> None:
        assert self.spool is not None and self.api is not None
        key = f"telegram:{self.account_id}:{row.update_id}"
        params = {
            "message": msg.text[:MAX_INBOUND_CHARS],
            "idempotencyKey": key,
            "sessionKey": self.host.session_key_for("telegram", decision.peer_kind, decision.peer_id),
            "extraSystemPrompt": inbound_context(msg, self.account_id),
        }
        run_over = asyncio.Event()
        self._side_task(self._typing(msg.chat_id, run_over))
        text = ""
        note = ""
        try:
            for attempt in range(1, RUN_UNAVAILABLE_ATTEMPTS + 1):
                try:
                    final = await self.host.run_agent(params)
                    text = reply_text(final)
                    note = "replied" if text else "the run gave no text"
                    break
                except RunFailed as exc:
                    self.log.warn("telegram run failed", update_id=row.update_id, error=exc.message[:300])  # noqa: G010 - ipc.logs.Logger.warn
                    if self.section.get("silentErrorReplies") is not True:
                        text = f"⚠️ {exc.message}"[:MAX_ERROR_REPLY_CHARS]
                    note = f"run failed: {exc.message}"[:300]
                    break
                except GatewayError as exc:  # the agent worker or the front-end is (re)starting
                    note = f"agent unavailable: {exc.message}"[:300]
                    if attempt == RUN_UNAVAILABLE_ATTEMPTS:
                        self._error(f"update {row.update_id}: {note}")
                        break
                    await self._sleep(backoff_s(attempt, base=RUN_RETRY_BASE_S, cap=15.0))
                    if self._stopping.is_set():
                        return  # stays `running`: dispatched again after the restart
        finally:
            run_over.set()
        if not text or self.spool is None:
            if self.spool is not None:
                self.spool.advance(row.update_id, DONE, note)
            return
        self.spool.advance(row.update_id, REPLYING)
        extra: dict[str, Any] = {}
        if msg.thread_id is not None and msg.message.get("is_topic_message"):
            extra["message_thread_id"] = msg.thread_id
        if self.section.get("replyToMode") in ("first", "all") and not msg.is_direct:
            extra["reply_parameters"] = {"message_id": msg.message_id, "allow_sending_without_reply": True}
        try:
            for n, chunk in enumerate(to_chunks(text, self.chunk_limit)):
                part = extra if n == 0 or self.section.get("replyToMode") == "all" else \
                    {k: v for k, v in extra.items() if k != "reply_parameters"}
                await self._replying_call(send_text(self.api, str(msg.chat_id), chunk, part, True, self.log))
                self.last_outbound_at = _now_ms()
        except TelegramUnauthorized as exc:
            self._fatal(f"telegram {exc.method}: 401 Unauthorized (the bot token was refused)")
            note = "reply failed: 401"
        except TelegramApiError as exc:
            self._error(f"reply to update {row.update_id} failed: {exc}")
            note = f"reply failed: {exc}"[:300]
        if self.spool is not None:
            self.spool.advance(row.update_id, DONE, note)

    async def _replying_call(self, coro: Any) -> Any:
        """Run a send so stop() lets it finish (a reply cut in the middle would be lost: replies are at most once)."""
        task = asyncio.ensure_future(coro)
        self._replying.add(task)
        task.add_done_callback(self._replying.discard)
        return await asyncio.shield(task)

    def _side_task(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)
        return task

    async def _typing(self, chat_id: int, done: asyncio.Event) -> None:
        """"typing" every 4 s until `done`; a request under way is let finish (cancelling it would cost the
        pooled connection)."""
        assert self.api is not None
        while not done.is_set() and not self._stopping.is_set():
            try:
                await self.api.call_once("sendChatAction", {"chat_id": chat_id, "action": "typing"}, timeout=5.0)
            except TelegramApiError:
                pass
            try:
                await asyncio.wait_for(done.wait(), TYPING_EVERY_S)
            except TimeoutError:
                pass

    async def _react(self, msg: Inbound) -> None:
        assert self.api is not None
        try:
            await self.api.call_once("setMessageReaction", {"chat_id": msg.chat_id, "message_id": msg.message_id,
                                                            "reaction": [{"type": "emoji", "emoji": ACK_EMOJI}]},
                                     timeout=5.0)
        except TelegramApiError:
            pass
