"""Sending to Telegram: text chunks (HTML with a plain-text fallback), media (a URL Telegram fetches,
or an upload from a base64 buffer) and @username resolution. The channel (channel.py) decides what
to send and records when; these functions only speak the Bot API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import re
from typing import Any
from urllib.parse import urlsplit

from openclaw.ipc.errors import ErrorCode, GatewayError

from .bot_api import BotApi, InputFile, TelegramApiError, backoff_s
from .format import Chunk

SEND_TIMEOUT_S = 30.0
SEND_RETRIES = 3
MAX_MEDIA_BYTES = 50 * 1024 * 1024  # Bot API upload limit
MAX_PHOTO_BYTES = 10 * 1024 * 1024
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".gif", ".webp")


async def send_text(api: BotApi, chat_id: str, chunk: Chunk, extra: dict[str, Any], html: bool,
                    log: Any) -> dict[str, Any]:
    """One chunk as a sendMessage (HTML; Telegram refusing our HTML gets the plain text once)."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": chunk.html if html else chunk.text, **extra}
    if html:
        payload["parse_mode"] = "HTML"
    try:
        msg = await api.call("sendMessage", payload, timeout=SEND_TIMEOUT_S, retries=SEND_RETRIES)
    except TelegramApiError as exc:
        if not (html and exc.cant_parse_entities):
            raise
        log.warn("telegram could not parse our HTML; sending plain text", error=exc.description[:200])  # noqa: G010 - ipc.logs.Logger.warn
        payload = {"chat_id": chat_id, "text": chunk.text, **extra}
        msg = await api.call("sendMessage", payload, timeout=SEND_TIMEOUT_S, retries=SEND_RETRIES)
    return msg if isinstance(msg, dict) else {}


async def resolve_chat(api: BotApi, to: str) -> int | str:
    """A chat id as given, or an @username resolved with getChat (3 tries)."""
    if re.fullmatch(r"-?\d{1,20}", to):
        return int(to)
    if not re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{3,31}", to):
        raise GatewayError(ErrorCode.INVALID_REQUEST,
                           f"Telegram recipient {to} is neither a chat id nor an @username")
    name = to if to.startswith("@") else f"@{to}"
    last = ""
    for attempt in range(3):
        try:
            chat = await api.call_once("getChat", {"chat_id": name}, timeout=10.0)
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
            last = "no chat id in the answer"
        except TelegramApiError as exc:
            last = exc.description
            if exc.error_code is not None and exc.error_code < 500 and exc.error_code != 429:
                break
        if attempt < 2:
            await asyncio.sleep(backoff_s(attempt + 1))
    raise GatewayError(ErrorCode.UNAVAILABLE,
                       f"OutboundDeliveryError: Telegram recipient {name} could not be resolved to a numeric chat ID "
                       f"({last})", details={"code": "OUTBOUND_DELIVERY_QUEUED"})


def media_of(req: dict[str, Any], max_mb: Any = None) -> list[dict[str, Any]]:
    """[{url} | {file: InputFile}] from mediaUrl, mediaUrls and buffer (base64)."""
    items: list[dict[str, Any]] = []
    urls = ([req["mediaUrl"]] if req.get("mediaUrl") else []) + list(req.get("mediaUrls") or [])
    for url in urls[:10]:
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise GatewayError(ErrorCode.INVALID_REQUEST, "media URLs must be http(s) URLs (Telegram fetches them)")
        items.append({"url": url, "contentType": req.get("contentType")})
    if req.get("buffer"):
        limit = min(MAX_MEDIA_BYTES, int(max_mb * 1024 * 1024)) if isinstance(max_mb, int | float) else MAX_MEDIA_BYTES
        raw = str(req["buffer"])
        if len(raw) > (limit * 4) // 3 + 8:
            raise GatewayError(ErrorCode.INVALID_REQUEST, f"media larger than {limit // (1024 * 1024)} MB")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise GatewayError(ErrorCode.INVALID_REQUEST, "buffer is not base64") from None
        name = str(req.get("filename") or "file")[:200]
        ctype = str(req.get("contentType") or mimetypes.guess_type(name)[0] or "application/octet-stream")
        items.append({"file": InputFile(name, data, ctype), "contentType": ctype})
    return items


async def send_media(api: BotApi, chat_id: str, item: dict[str, Any], caption: Chunk | None,
                     extra: dict[str, Any], force_document: bool) -> dict[str, Any]:
    """One media item: sendPhoto for an image (≤ 10 MB uploaded), else sendDocument."""
    ctype = str(item.get("contentType") or "")
    file: InputFile | None = item.get("file")
    if file is not None:
        image = ctype.startswith("image/") and len(file.data) <= MAX_PHOTO_BYTES
    else:
        image = ctype.startswith("image/") or urlsplit(item["url"]).path.lower().endswith(_IMAGE_EXT)
    method, field = ("sendPhoto", "photo") if image and not force_document else ("sendDocument", "document")
    payload: dict[str, Any] = {"chat_id": chat_id, **extra}
    if caption is not None:
        payload["caption"] = caption.html
        payload["parse_mode"] = "HTML"
    if file is None:
        payload[field] = item["url"]
        msg = await api.call(method, payload, timeout=SEND_TIMEOUT_S * 2, retries=SEND_RETRIES)
    else:
        msg = await api.call(method, payload, timeout=SEND_TIMEOUT_S * 4, retries=SEND_RETRIES, files={field: file})
    return msg if isinstance(msg, dict) else {}
