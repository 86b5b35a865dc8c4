"""A fake Telegram Bot API server on 127.0.0.1 speaking the real JSON shapes (for tests and benches).

Every method is served where Telegram serves it, `{root}/bot<token>/<method>` (GET with a query string,
POST with JSON, form or multipart bodies; method names are case-insensitive), and answers like Telegram:
`{"ok":true,"result":…}` or `{"ok":false,"error_code":N,"description":…,"parameters":{"retry_after":S}}`
with the HTTP status equal to `error_code`.

Methods: getMe, getUpdates (long poll: `timeout`, `limit`, `offset` confirms every earlier update exactly as
Telegram does, a negative offset keeps the last -offset; 409 while a webhook is set; a newer getUpdates
terminates a waiting one with 409), setWebhook / deleteWebhook / getWebhookInfo (with a webhook set, injected
updates are POSTed to its url, with `X-Telegram-Bot-Api-Secret-Token`, in order, retried until a 2xx;
loopback urls only), setMyCommands / deleteMyCommands / getMyCommands, sendMessage (increasing message_id per
chat; text longer than 4096 UTF-16 units after entity parsing -> 400 "message is too long"; `parse_mode:"HTML"`
is parsed as Telegram does: unknown or unbalanced tags -> 400 "can't parse entities: …"), sendChatAction,
sendPhoto / sendDocument (multipart upload or a URL / file_id string), getChat (ids and @usernames),
setMessageReaction, editMessageText. Chats exist once a user wrote to the bot (an injected update) or
`add_chat` made them; other chats get 400 "chat not found", as Telegram.

In-process use (sync or async tests alike: the server runs on its own event-loop thread):

    with FakeTelegramApi(tokens={"111:AAA": "fake_oc_bot"}) as tg:
        section = {"botToken": "111:AAA", "apiRoot": tg.url}        # channels.telegram
        update_id = tg.inject_dm(555001, "hi", username="alice")
        call = tg.wait_for_call("sendMessage")                       # Call(method, token, payload, at, …)
        assert call.payload["chat_id"] == "555001"

Controls: `inject_dm`, `inject_group`, `inject_update`, `add_chat`, `block_user`; `fail_next(n, status=429,
retry_after=S, methods=…)`, `drop_next(n, methods=…)` (close the connection without an answer),
`delay_next(n, seconds, methods=…)`, `revoke(token)` (401 from then on); `calls(method)`,
`wait_for_call(method, n=1, timeout=5, where=…)` (blocks; `await_call` for async tests), `sent_texts(chat_id)`,
`pending_updates(token)`, `webhook_deliveries`, `clear_calls()`.

Subprocess mode (benches): `python -m tests.fakes.telegram_api --port 0 --token T [--token T2] [--username U]`
prints the API root URL (`http://127.0.0.1:<port>`) on stdout when listening and serves until killed. The
same controls are HTTP endpoints there: `POST /_fake/inject {"dm":{"user_id","text",…}} | {"group":{…}} |
{"update":{…}}` (+ optional "token") -> `{"update_id"}`, or `{"dms":[…]}` -> `{"update_ids"}`; `GET /_fake/calls?method=M&since=I` ->
`{"calls":[…],"next":I}`; `GET /_fake/wait?method=M&n=N&timeout=S` -> `{"count"}`; `POST /_fake/fault
{"kind":"status"|"drop"|"delay","count","status","retry_after","seconds","methods"}`; `POST /_fake/clear`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = ["Call", "FakeTelegramApi", "parse_html"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CHAT_ACTIONS = frozenset({"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                          "upload_document", "choose_sticker", "find_location", "record_video_note",
                          "upload_video_note"})
UPDATE_TYPES = ("message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
                "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
                "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
                "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member",
                "chat_join_request", "chat_boost", "removed_chat_boost", "message_reaction",
                "message_reaction_count")
# Telegram's HTML parse mode: the tags it knows (attributes checked where they matter).
_HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                        "code", "pre", "blockquote", "tg-emoji", "tg-time"})
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_MENTION = re.compile(r"@[A-Za-z0-9_]{3,32}")


@dataclass
class Call:
    """One request the server received. `status` is the HTTP status answered (0: connection dropped)."""

    method: str  # canonical spelling, e.g. "sendMessage"
    token: str
    payload: dict[str, Any]  # JSON body, query or form fields as sent; uploaded files are in `files`
    at: float  # time.monotonic() on arrival
    http: str  # "GET" | "POST"
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {filename, content_type, size, sha256, data}
    status: int = 0
    answered_at: float = 0.0


@dataclass
class _Fault:
    kind: str  # "status" | "drop" | "delay"
    count: int
    methods: frozenset[str] | None  # lower-cased; None = any method
    status: int = 429
    description: str | None = None
    retry_after: int | None = None
    seconds: float = 0.0

    def matches(self, method: str) -> bool:
        return self.count > 0 and (self.methods is None or method.lower() in self.methods)


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode: the visible text, or `_ApiError` 400 "can't parse entities: …" as Telegram
    words it (unsupported tag, unclosed tag, unmatched or unexpected end tag)."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    n = len(text)

    def offset(pos: int) -> int:
        return len(text[:pos].encode())

    def fail(msg: str) -> _ApiError:
        return _bad(f"can't parse entities: {msg}")

    while i < n:
        ch = text[i]
        if ch == "&":
            m = _ENTITY.match(text, i)
            if m:
                name = m.group(1)
                if name.startswith("#"):
                    code = int("0" + name[1:], 0) if name.startswith("#x") else int(name[1:])
                    out.append(chr(code) if code < 0x110000 else m.group(0))
                else:
                    out.append(_NAMED_ENTITIES.get(name, m.group(0)))
                i = m.end()
                continue
            out.append("&")
            i += 1
            continue
        if ch != "<":
            out.append(ch)
            i += 1
            continue
        end = text.find(">", i)
        if end < 0:
            raise fail(f"Unclosed start tag at byte offset {offset(i)}")
        inner = text[i + 1:end]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {offset(i)}")
            if stack[-1] != name:
                raise fail(f'Unmatched end tag at byte offset {offset(i)}, expected "</{stack[-1]}>", found "</{name}>"')
            stack.pop()
        else:
            m = re.match(r"([a-zA-Z][a-zA-Z0-9-]*)(.*)$", inner, re.DOTALL)
            name = m.group(1).lower() if m else inner.strip()
            attrs = m.group(2) if m else ""
            if name not in _HTML_TAGS:
                raise fail(f'Unsupported start tag "{name}" at byte offset {offset(i)}')
            if name == "span" and "tg-spoiler" not in attrs:
                raise fail(f'Unsupported start tag "span" at byte offset {offset(i)}')
            stack.append(name)
        i = end + 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Bot:
    """Everything Telegram keeps for one bot token. Touched only under FakeTelegramApi._lock."""

    def __init__(self, token: str, bot_id: int, username: str, first_name: str) -> None:
        self.token = token
        self.user: dict[str, Any] = {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}
        self.revoked = False
        self.updates: list[dict[str, Any]] = []  # unconfirmed, ascending update_id
        self.next_update_id = 100_000_001
        self.allowed_updates: list[str] | None = None
        self.poll_generation = 0
        self.webhook: dict[str, Any] | None = None  # {url, secret_token, allowed_updates}
        self.webhook_last_error: tuple[int, str] | None = None
        self.chats: dict[int, dict[str, Any]] = {}
        self.by_username: dict[str, int] = {}
        self.blocked: set[int] = set()
        self.last_message_id: dict[int, int] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.wake: asyncio.Event | None = None  # created on the server loop

    def get_me(self) -> dict[str, Any]:
        # The fields a real getMe returns for a plain bot (as in the recorded upstream traffic).
        return {**self.user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    def add_chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        known = self.chats.setdefault(int(chat["id"]), dict(chat))
        known.update(chat)
        if chat.get("username"):
            self.by_username[str(chat["username"]).lower()] = int(chat["id"])
        return known

    def message_id(self, chat_id: int) -> int:
        mid = self.last_message_id.get(chat_id, 0) + 1
        self.last_message_id[chat_id] = mid
        return mid

    def chat(self, ref: Any, *, sending: bool = False) -> dict[str, Any]:
        """The chat `ref` (int, numeric string or @username) names, or the error Telegram gives."""
        if isinstance(ref, bool) or ref is None or ref == "":
            raise _bad("chat_id is empty" if ref in (None, "") else "chat not found")
        if isinstance(ref, str) and ref.startswith("@"):
            cid = self.by_username.get(ref[1:].lower())
            if cid is None:
                raise _bad("chat not found")
        else:
            try:
                cid = int(ref)
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
        chat = self.chats.get(cid)
        if chat is None:
            raise _bad("chat not found")
        if sending and cid in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def enqueue(self, update: dict[str, Any]) -> int:
        uid = update.get("update_id")
        if not isinstance(uid, int):
            uid = self.next_update_id
            update = {"update_id": uid, **update}
        self.next_update_id = max(self.next_update_id, uid + 1)
        self.updates.append(update)
        self.updates.sort(key=lambda u: u["update_id"])
        for kind in UPDATE_TYPES:
            msg = update.get(kind)
            if isinstance(msg, dict) and isinstance(msg.get("chat"), dict):
                self.add_chat(msg["chat"])
                if isinstance(msg.get("message_id"), int):
                    cid = int(msg["chat"]["id"])
                    self.last_message_id[cid] = max(self.last_message_id.get(cid, 0), msg["message_id"])
                    self.messages[(cid, msg["message_id"])] = msg
        return uid

    def confirm(self, offset: int) -> None:
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def deliverable(self, allowed: list[str] | None) -> list[dict[str, Any]]:
        if not allowed:
            return list(self.updates)
        return [u for u in self.updates if any(k in u for k in allowed)]


class FakeTelegramApi:
    """The server. `tokens` maps each valid bot token to the bot's username (ids 7000001, 7000002, …)."""

    def __init__(self, tokens: dict[str, str] | Iterable[str] = ("111:AAA",), *, webhook_retry_s: float = 0.1,
                 host: str = "127.0.0.1") -> None:
        if not isinstance(tokens, dict):
            tokens = {t: ("fake_oc_bot" if n == 0 else f"fake_oc_bot{n + 1}") for n, t in enumerate(tokens)}
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._bots: dict[str, _Bot] = {}
        for n, (token, username) in enumerate(tokens.items()):
            self._bots[token] = _Bot(token, 7_000_001 + n, username, "FakeBot")
        self.default_token = next(iter(self._bots))
        self.webhook_retry_s = webhook_retry_s
        self.host = host
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self.webhook_deliveries: list[tuple[str, int, int, float]] = []  # (token, update_id, status, at); 0 = failed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._deliverers: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._subprocess_control = False
        self._method_table: dict[str, Callable[[_Bot, Call], Any]] = {
            name.removeprefix("_m_").lower(): getattr(self, name) for name in dir(self) if name.startswith("_m_")}
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The API root (what goes in `channels.telegram.apiRoot`)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.serve(0), loop).result(10)
        return self

    async def serve(self, port: int) -> int:
        """Listen on the running loop (what start() and the subprocess mode run); returns the port."""
        self._loop = asyncio.get_running_loop()
        with self._lock:
            for bot in self._bots.values():
                bot.wake = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        if self._subprocess_control:
            app.router.add_post("/_fake/inject", self._ctl_inject)
            app.router.add_get("/_fake/calls", self._ctl_calls)
            app.router.add_get("/_fake/wait", self._ctl_wait)
            app.router.add_post("/_fake/fault", self._ctl_fault)
            app.router.add_post("/_fake/clear", self._ctl_clear)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(5)
            loop.close()

    async def _shutdown(self) -> None:
        for task in self._deliverers.values():
            task.cancel()
        self._deliverers.clear()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ controls

    def _bot(self, token: str | None) -> _Bot:
        return self._bots[token or self.default_token]

    def bot_user(self, token: str | None = None) -> dict[str, Any]:
        with self._lock:
            return dict(self._bot(token).user)

    def _wake(self, bot: _Bot) -> None:
        loop = self._loop
        if loop is not None and bot.wake is not None:
            loop.call_soon_threadsafe(bot.wake.set)
            if bot.webhook is not None:
                loop.call_soon_threadsafe(self._ensure_deliverer, bot)

    def inject_update(self, update: dict[str, Any], token: str | None = None) -> int:
        """Queue a raw update (an `update_id` is assigned when missing); returns its update_id."""
        with self._lock:
            bot = self._bot(token)
            uid = bot.enqueue(dict(update))
        self._wake(bot)
        return uid

    def _message(self, bot: _Bot, chat: dict[str, Any], sender: dict[str, Any], text: str | None,
                 extra: dict[str, Any]) -> dict[str, Any]:
        msg: dict[str, Any] = {"message_id": bot.message_id(int(chat["id"])), "from": sender, "chat": chat,
                               "date": int(time.time())}
        if text is not None:
            msg["text"] = text
            entities = []
            if text.startswith("/"):
                cmd = text.split()[0]
                entities.append({"offset": 0, "length": utf16_len(cmd), "type": "bot_command"})
            for m in _MENTION.finditer(text):
                entities.append({"offset": utf16_len(text[:m.start()]), "length": utf16_len(m.group(0)),
                                 "type": "mention"})
            if entities:
                msg["entities"] = entities
        msg.update(extra)
        return msg

    @staticmethod
    def _user(user_id: int, username: str | None, first_name: str) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        user["language_code"] = "en"
        return user

    def inject_dm(self, user_id: int, text: str | None, *, username: str | None = None, first_name: str = "User",
                  token: str | None = None, **extra: Any) -> int:
        """A private message from user `user_id` (its chat id is the user id, as in Telegram)."""
        with self._lock:
            bot = self._bot(token)
            chat: dict[str, Any] = {"id": user_id, "first_name": first_name, "type": "private"}
            if username:
                chat["username"] = username
            bot.add_chat(chat)
            msg = self._message(bot, chat, self._user(user_id, username, first_name), text, extra)
            uid = bot.enqueue({"message": msg})
        self._wake(bot)
        return uid

    def inject_group(self, chat_id: int, user_id: int, text: str | None, *, title: str = "Group",
                     username: str | None = None, first_name: str = "User", token: str | None = None,
                     **extra: Any) -> int:
        """A message in group `chat_id` (negative; "supergroup" when it starts with -100) from `user_id`."""
        with self._lock:
            bot = self._bot(token)
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat = {"id": chat_id, "title": title, "type": kind}
            bot.add_chat(chat)
            msg = self._message(bot, chat, self._user(user_id, username, first_name), text, extra)
            uid = bot.enqueue({"message": msg})
        self._wake(bot)
        return uid

    def add_chat(self, chat_id: int, *, username: str | None = None, kind: str = "private",
                 title: str | None = None, token: str | None = None) -> None:
        """Make a chat known (as if its user had started the bot) without an update."""
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = "User"
        else:
            chat["title"] = title or "Group"
        if username:
            chat["username"] = username
        with self._lock:
            self._bot(token).add_chat(chat)

    def block_user(self, chat_id: int, token: str | None = None) -> None:
        """Sends to this chat get 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self._bot(token).blocked.add(chat_id)

    def revoke(self, token: str) -> None:
        """The token stops working: every call gets 401 Unauthorized, a waiting getUpdates at once."""
        with self._lock:
            bot = self._bots[token]
            bot.revoked = True
        self._wake(bot)

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    @staticmethod
    def _methods(methods: str | Iterable[str] | None) -> frozenset[str] | None:
        if methods is None:
            return None
        if isinstance(methods, str):
            methods = [methods]
        return frozenset(m.lower() for m in methods)

    def fail_next(self, n: int = 1, *, status: int = 429, retry_after: int | None = None,
                  description: str | None = None, methods: str | Iterable[str] | None = None) -> None:
        """The next `n` matching calls get an error: 429 "Too Many Requests: retry after S" with
        `parameters.retry_after` by default; any other status with `description` (e.g. 502, 500)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._add_fault(_Fault("status", n, self._methods(methods), status=status, description=description,
                               retry_after=retry_after))

    def drop_next(self, n: int = 1, *, methods: str | Iterable[str] | None = None) -> None:
        """The next `n` matching calls: the connection is closed without an answer."""
        self._add_fault(_Fault("drop", n, self._methods(methods)))

    def delay_next(self, n: int, seconds: float, *, methods: str | Iterable[str] | None = None) -> None:
        """The next `n` matching calls are answered `seconds` late."""
        self._add_fault(_Fault("delay", n, self._methods(methods), seconds=seconds))

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None, token: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if (method is None or c.method.lower() == method.lower())
                    and (token is None or c.token == token)]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self.webhook_deliveries.clear()

    def wait_for_call(self, method: str, n: int = 1, timeout: float = 5.0,
                      where: Callable[[Call], bool] | None = None, answered: bool = True) -> Call:
        """Block until `n` calls of `method` (matching `where`) were received (and answered, unless
        `answered=False`); returns the n-th. TimeoutError (with what was seen) otherwise."""
        return self.wait_for_calls(method, n, timeout, where, answered)[n - 1]

    def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0,
                       where: Callable[[Call], bool] | None = None, answered: bool = True) -> list[Call]:
        deadline = time.monotonic() + timeout

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method.lower() == method.lower()
                    and (not answered or c.answered_at) and (where is None or where(c))]

        with self._cond:
            while len(found := matching()) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.status) for c in self._calls][-20:]
                    raise TimeoutError(f"{len(found)}/{n} {method} calls after {timeout}s; last calls: {seen}")
                self._cond.wait(left)
            return found

    async def await_call(self, method: str, n: int = 1, timeout: float = 5.0,
                         where: Callable[[Call], bool] | None = None) -> Call:
        """`wait_for_call` for async tests (waits in a thread, the caller's loop keeps running)."""
        return await asyncio.to_thread(self.wait_for_call, method, n, timeout, where)

    def sent_texts(self, chat_id: int | str | None = None, token: str | None = None) -> list[str]:
        """The `text` of every successful sendMessage (to `chat_id`, compared as strings)."""
        return [c.payload.get("text", "") for c in self.calls("sendMessage", token)
                if c.status == 200 and (chat_id is None or str(c.payload.get("chat_id")) == str(chat_id))]

    def pending_updates(self, token: str | None = None) -> list[int]:
        """update_ids Telegram still holds for the bot (not confirmed by an offset / a webhook 2xx)."""
        with self._lock:
            return [u["update_id"] for u in self._bot(token).updates]

    def webhook(self, token: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            hook = self._bot(token).webhook
            return dict(hook) if hook else None

    # ------------------------------------------------------------------ HTTP

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _answered(self, call: Call, status: int) -> None:
        with self._cond:
            call.status = status
            call.answered_at = time.monotonic()
            self._cond.notify_all()

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, dict[str, Any]] = {}
        if request.method != "POST" or not request.can_read_body:
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON object")
            params.update(body)
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    data = await part.read()
                    files[part.name] = {"filename": part.filename,
                                        "content_type": part.headers.get("Content-Type", ""),
                                        "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "data": data}
                else:
                    params[part.name] = await part.text()
        elif ctype == "application/x-www-form-urlencoded":
            params.update(dict(await request.post()))
        return params, files

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        call = Call(method=raw_method, token=token, payload={}, at=time.monotonic(), http=request.method)
        try:
            call.payload, call.files = await self._params(request)
        except _ApiError as exc:
            self._record(call)
            return self._error(call, exc)
        handler = self._method_table.get(raw_method.lower())
        if handler is not None:
            call.method = handler.__name__.removeprefix("_m_")
        self._record(call)
        fault = self._take_fault(call.method)
        if fault is not None and fault.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            self._answered(call, 0)
            raise asyncio.CancelledError  # nothing more is written; aiohttp closes the request
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        with self._lock:
            bot = self._bots.get(token)
            if bot is None or bot.revoked:
                return self._error(call, _ApiError(401, "Unauthorized"))
        if handler is None:
            return self._error(call, _ApiError(404, "Not Found"))
        if fault is not None and fault.kind == "status":
            desc = fault.description or (f"Too Many Requests: retry after {fault.retry_after}"
                                         if fault.status == 429 else "Internal Server Error")
            if fault.status >= 500 and fault.description is None:
                self._answered(call, fault.status)
                return web.Response(status=fault.status, text="<html>Bad Gateway</html>", content_type="text/html")
            return self._error(call, _ApiError(fault.status, desc, fault.retry_after))
        try:
            result = await handler(bot, call)
        except _ApiError as exc:
            return self._error(call, exc)
        self._answered(call, 200)
        return web.json_response({"ok": True, "result": result})

    def _error(self, call: Call, exc: _ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.retry_after is not None:
            body["parameters"] = {"retry_after": exc.retry_after}
        self._answered(call, exc.code)
        return web.json_response(body, status=exc.code)

    # ------------------------------------------------------------------ argument helpers

    @staticmethod
    def _int(p: dict[str, Any], key: str, default: int | None = None) -> int | None:
        v = p.get(key)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            raise _bad(f"invalid {key} specified")
        try:
            return int(v)
        except (TypeError, ValueError):
            raise _bad(f"invalid {key} specified") from None

    @staticmethod
    def _obj(p: dict[str, Any], key: str) -> Any:
        v = p.get(key)
        if isinstance(v, str) and v[:1] in "[{":
            try:
                return json.loads(v)
            except ValueError:
                raise _bad(f"can't parse {key} JSON object") from None
        return v

    @staticmethod
    def _flag(p: dict[str, Any], key: str) -> bool:
        v = p.get(key)
        return v is True or (isinstance(v, str) and v.lower() in ("true", "1"))

    def _text(self, p: dict[str, Any], key: str, limit: int, *, required: bool) -> str:
        text = p.get(key)
        if text is None or text == "":
            if required:
                raise _bad("message text is empty")
            return ""
        if not isinstance(text, str):
            text = str(text)
        visible = parse_html(text) if str(p.get("parse_mode", "")).upper() == "HTML" else text
        if required and not visible.strip():
            raise _bad("message text is empty")
        if utf16_len(visible) > limit:
            raise _bad("message is too long" if key == "text" else "message caption is too long")
        return visible

    def _store(self, bot: _Bot, chat: dict[str, Any], extra: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        cid = int(chat["id"])
        msg = {"message_id": bot.message_id(cid), "from": bot.user, "chat": chat, "date": int(time.time()), **extra}
        thread = self._int(p, "message_thread_id")
        if thread is not None:
            msg["message_thread_id"] = thread
        reply = self._obj(p, "reply_parameters")
        reply_id = reply.get("message_id") if isinstance(reply, dict) else self._int(p, "reply_to_message_id")
        if reply_id is not None:
            target = bot.messages.get((cid, int(reply_id)))
            if target is None:
                raise _bad("message to be replied not found")
            msg["reply_to_message"] = target
        bot.messages[(cid, msg["message_id"])] = msg
        return msg

    # ------------------------------------------------------------------ methods (name after _m_ is the API's)

    async def _m_getMe(self, bot: _Bot, call: Call) -> Any:
        return bot.get_me()

    async def _m_getUpdates(self, bot: _Bot, call: Call) -> Any:
        p = call.payload
        offset = self._int(p, "offset", 0) or 0
        limit = min(max(self._int(p, "limit", 100) or 100, 1), 100)
        timeout = max(self._int(p, "timeout", 0) or 0, 0)
        allowed = self._obj(p, "allowed_updates")
        with self._lock:
            if bot.webhook is not None:
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                     "use deleteWebhook to delete the webhook first")
            bot.confirm(offset)
            if isinstance(allowed, list):
                bot.allowed_updates = [str(a) for a in allowed] or None
            bot.poll_generation += 1
            generation = bot.poll_generation
        assert bot.wake is not None
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if bot.revoked:
                    raise _ApiError(401, "Unauthorized")
                if bot.poll_generation != generation:
                    raise _ApiError(409, "Conflict: terminated by other getUpdates request; "
                                         "make sure that only one bot instance is running")
                found = bot.deliverable(bot.allowed_updates)[:limit]
                bot.wake.clear()
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            try:
                await asyncio.wait_for(bot.wake.wait(), left)
            except TimeoutError:
                pass

    async def _m_setWebhook(self, bot: _Bot, call: Call) -> Any:
        p = call.payload
        url = str(p.get("url") or "")
        if url and not _is_loopback_url(url):
            raise _bad("bad webhook: this fake Bot API delivers to loopback URLs only")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: secret token contains unallowed characters")
        allowed = self._obj(p, "allowed_updates")
        with self._lock:
            if self._flag(p, "drop_pending_updates"):
                bot.updates.clear()
            if not url:
                bot.webhook = None
                return True
            bot.webhook = {"url": url, "secret_token": secret,
                           "allowed_updates": allowed if isinstance(allowed, list) else None}
            bot.poll_generation += 1  # a waiting getUpdates ends (with 409 on its next call)
            bot.webhook_last_error = None
        self._ensure_deliverer(bot)
        return True

    async def _m_deleteWebhook(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            bot.webhook = None
            if self._flag(call.payload, "drop_pending_updates"):
                bot.updates.clear()
        task = self._deliverers.pop(bot.token, None)
        if task is not None:
            task.cancel()
        return True

    async def _m_getWebhookInfo(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            hook = bot.webhook or {}
            info: dict[str, Any] = {"url": hook.get("url", ""), "has_custom_certificate": False,
                                    "pending_update_count": len(bot.updates)}
            if hook:
                info["max_connections"] = 40
                info["ip_address"] = "127.0.0.1"
                if hook.get("allowed_updates"):
                    info["allowed_updates"] = hook["allowed_updates"]
                if bot.webhook_last_error:
                    info["last_error_date"], info["last_error_message"] = bot.webhook_last_error
            return info

    async def _m_setMyCommands(self, bot: _Bot, call: Call) -> Any:
        commands = self._obj(call.payload, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an array of at most 100 BotCommand")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _COMMAND.match(str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise _bad("command description is empty" if not cmd.get("description")
                           else "BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            bot.commands[json.dumps(self._obj(call.payload, "scope") or {"type": "default"}, sort_keys=True)] = commands
        return True

    async def _m_deleteMyCommands(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            bot.commands.pop(json.dumps(self._obj(call.payload, "scope") or {"type": "default"}, sort_keys=True),
                             None)
        return True

    async def _m_getMyCommands(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            return bot.commands.get(json.dumps(self._obj(call.payload, "scope") or {"type": "default"},
                                               sort_keys=True), [])

    async def _m_sendMessage(self, bot: _Bot, call: Call) -> Any:
        p = call.payload
        with self._lock:
            chat = bot.chat(p.get("chat_id"), sending=True)
            text = self._text(p, "text", TEXT_LIMIT, required=True)
            return self._store(bot, chat, {"text": text}, p)

    async def _m_sendChatAction(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            bot.chat(call.payload.get("chat_id"), sending=True)
        if call.payload.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _media(self, bot: _Bot, call: Call, field_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        p = call.payload
        chat = bot.chat(p.get("chat_id"), sending=True)
        upload = call.files.get(field_name)
        ref = p.get(field_name)
        if upload is None and not (isinstance(ref, str) and ref):
            raise _bad(f"there is no {field_name} in the request")
        caption = self._text(p, "caption", CAPTION_LIMIT, required=False)
        size = upload["size"] if upload else 0
        digest = upload["sha256"][:16] if upload else hashlib.sha256(str(ref).encode()).hexdigest()[:16]
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return chat, {"size": size, "digest": digest, "upload": upload, "extra": extra}

    async def _m_sendPhoto(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            chat, m = self._media(bot, call, "photo")
            photo = [{"file_id": f"AgAC{m['digest']}", "file_unique_id": m["digest"][:12], "width": 1280,
                      "height": 720, "file_size": m["size"]}]
            return self._store(bot, chat, {"photo": photo, **m["extra"]}, call.payload)

    async def _m_sendDocument(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            chat, m = self._media(bot, call, "document")
            up = m["upload"] or {}
            doc = {"file_id": f"BQAC{m['digest']}", "file_unique_id": m["digest"][:12],
                   "file_name": up.get("filename") or "file", "mime_type": up.get("content_type") or
                   "application/octet-stream", "file_size": m["size"]}
            return self._store(bot, chat, {"document": doc, **m["extra"]}, call.payload)

    async def _m_getChat(self, bot: _Bot, call: Call) -> Any:
        with self._lock:
            chat = dict(bot.chat(call.payload.get("chat_id")))
        if chat.get("type") == "private":
            chat.setdefault("accent_color_id", 0)
            chat.setdefault("max_reaction_count", 11)
        return chat

    async def _m_setMessageReaction(self, bot: _Bot, call: Call) -> Any:
        p = call.payload
        with self._lock:
            chat = bot.chat(p.get("chat_id"))
            mid = self._int(p, "message_id")
            if mid is None or (int(chat["id"]), mid) not in bot.messages:
                raise _bad("message to react not found")
        reaction = self._obj(p, "reaction")
        if reaction is not None and not isinstance(reaction, list):
            raise _bad("can't parse reaction types JSON object")
        return True

    async def _m_editMessageText(self, bot: _Bot, call: Call) -> Any:
        p = call.payload
        with self._lock:
            chat = bot.chat(p.get("chat_id"))
            mid = self._int(p, "message_id")
            key = (int(chat["id"]), mid or 0)
            msg = bot.messages.get(key)
            if msg is None or msg.get("from", {}).get("id") != bot.user["id"]:
                raise _bad("message to edit not found")
            text = self._text(p, "text", TEXT_LIMIT, required=True)
            if text == msg.get("text"):
                raise _bad("message is not modified: specified new message content and reply markup are exactly "
                           "the same as a current content and reply markup of the message")
            msg = {**msg, "text": text, "edit_date": int(time.time())}
            bot.messages[key] = msg
            return msg

    # ------------------------------------------------------------------ webhook delivery

    def _ensure_deliverer(self, bot: _Bot) -> None:
        task = self._deliverers.get(bot.token)
        if bot.webhook is not None and (task is None or task.done()):
            self._deliverers[bot.token] = asyncio.get_running_loop().create_task(self._deliver(bot))

    async def _deliver(self, bot: _Bot) -> None:
        """POST each pending update to the webhook url, in order, until a 2xx confirms it (as Telegram)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(trust_env=False)
        assert bot.wake is not None
        while True:
            with self._lock:
                hook = bot.webhook
                if hook is None:
                    return
                pending = bot.deliverable(hook.get("allowed_updates"))
                if not pending:
                    bot.wake.clear()
            if not pending:
                await bot.wake.wait()
                continue
            update = pending[0]
            headers = {"Content-Type": "application/json"}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
            status = 0
            try:
                async with self._session.post(hook["url"], data=json.dumps(update), headers=headers,
                                              timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                with self._lock:
                    bot.webhook_last_error = (int(time.time()), f"Connection failed: {exc.__class__.__name__}")
            with self._cond:
                self.webhook_deliveries.append((bot.token, update["update_id"], status, time.monotonic()))
                self._cond.notify_all()
                if 200 <= status < 300:
                    bot.updates = [u for u in bot.updates if u["update_id"] != update["update_id"]]
                    continue
                if status:
                    bot.webhook_last_error = (int(time.time()), f"Wrong response from the webhook: {status}")
            await asyncio.sleep(self.webhook_retry_s)

    def wait_for_delivery(self, update_id: int, timeout: float = 5.0, ok: bool = True) -> tuple[str, int, int, float]:
        """Block until the webhook delivery of `update_id` got a 2xx (or any answer when ok=False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for d in self.webhook_deliveries:
                    if d[1] == update_id and (not ok or 200 <= d[2] < 300):
                        return d
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no delivery of update {update_id}: {self.webhook_deliveries[-5:]}")
                self._cond.wait(left)

    # ------------------------------------------------------------------ subprocess control endpoints

    async def _ctl_inject(self, request: web.Request) -> web.Response:
        body = await request.json()
        token = body.get("token")
        if "dms" in body:  # a batch: [{user_id, text, username?, first_name?}, …]
            ids = [self.inject_dm(int(d["user_id"]), d.get("text"), username=d.get("username"),
                                  first_name=d.get("first_name", "User"), token=token) for d in body["dms"]]
            return web.json_response({"update_ids": ids})
        if "dm" in body:
            d = body["dm"]
            uid = self.inject_dm(int(d["user_id"]), d.get("text"), username=d.get("username"),
                                 first_name=d.get("first_name", "User"), token=token)
        elif "group" in body:
            g = body["group"]
            uid = self.inject_group(int(g["chat_id"]), int(g["user_id"]), g.get("text"), title=g.get("title", "Group"),
                                    username=g.get("username"), token=token)
        else:
            uid = self.inject_update(body["update"], token=token)
        return web.json_response({"update_id": uid})

    @staticmethod
    def _call_json(c: Call) -> dict[str, Any]:
        d = asdict(c)
        d["files"] = {k: {kk: vv for kk, vv in v.items() if kk != "data"} for k, v in c.files.items()}
        return d

    async def _ctl_calls(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        method = request.query.get("method")
        with self._lock:
            calls = self._calls[since:]
            nxt = since + len(calls)
        return web.json_response({"calls": [self._call_json(c) for c in calls
                                            if method is None or c.method.lower() == method.lower()], "next": nxt})

    async def _ctl_wait(self, request: web.Request) -> web.Response:
        method = request.query["method"]
        n = int(request.query.get("n", "1"))
        timeout = float(request.query.get("timeout", "5"))
        try:
            await asyncio.to_thread(self.wait_for_calls, method, n, timeout)
        except TimeoutError:
            pass
        return web.json_response({"count": len([c for c in self.calls(method) if c.answered_at])})

    async def _ctl_fault(self, request: web.Request) -> web.Response:
        b = await request.json()
        kind = b.get("kind", "status")
        methods = b.get("methods")
        if kind == "drop":
            self.drop_next(int(b.get("count", 1)), methods=methods)
        elif kind == "delay":
            self.delay_next(int(b.get("count", 1)), float(b.get("seconds", 1)), methods=methods)
        else:
            self.fail_next(int(b.get("count", 1)), status=int(b.get("status", 429)), retry_after=b.get("retry_after"),
                           description=b.get("description"), methods=methods)
        return web.json_response({"ok": True})

    async def _ctl_clear(self, request: web.Request) -> web.Response:
        self.clear_calls()
        return web.json_response({"ok": True})


def spawn(*tokens: str, cwd: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """The subprocess mode, started: (the process, its API root URL). The caller stops it (by PID)."""
    args = [sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0"]
    for token in tokens:
        args += ["--token", token]
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the fake Bot API did not start: {url!r}")
    return proc, url


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fakes.telegram_api", description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--token", action="append", help="a valid bot token (repeatable; default 111:AAA)")
    ap.add_argument("--username", action="append", help="the bot username for each --token, in order")
    args = ap.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        ap.error("--host must be a loopback address")
    tokens = args.token or ["111:AAA"]
    names = args.username or []
    fake = FakeTelegramApi({t: (names[i] if i < len(names) else ("fake_oc_bot" if i == 0 else f"fake_oc_bot{i + 1}"))
                            for i, t in enumerate(tokens)}, host=args.host)
    fake._subprocess_control = True

    async def run() -> None:
        await fake.serve(args.port)
        print(fake.url, flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
