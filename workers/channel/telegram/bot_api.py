"""The Telegram Bot API client: one aiohttp session per bot, `call(method, payload) -> result`.

Plain aiohttp (a dependency already) rather than a Bot API framework: the worker needs the raw JSON shapes,
its own offset spool and its own retry policy, and ~10 methods.

Retry policy of `call` (the poll loop passes retries=0 and keeps its own backoff):
* 429 -> sleep `parameters.retry_after` (refused when longer than `max_retry_after`), then retry;
* network errors, timeouts and 5xx -> backoff 0.5, 1, 2 … s (±20 % jitter), then retry;
* 401 -> `TelegramUnauthorized` at once (the token is bad: nothing to retry);
* any other error (400 "chat not found", 403 "blocked", 409 …) -> `TelegramApiError` at once.
At most `retries` retries (default 3), then the last error is raised. A send whose connection dropped after
the request was written may have been delivered: retrying it can post twice (Telegram has no idempotency key
for sendMessage); the caller's ledger bounds that to network failures.

The bot token is part of every URL: it never appears in an exception message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

__all__ = ["BotApi", "InputFile", "TelegramApiError", "TelegramNetworkError", "TelegramUnauthorized", "backoff_s"]

DEFAULT_API_ROOT = "https://api.telegram.org"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class TelegramApiError(Exception):
    """An error answer of the Bot API (`ok:false`), or the transport's failure (`TelegramNetworkError`)."""

    def __init__(self, method: str, description: str, *, error_code: int | None = None,
                 retry_after: float | None = None, http_status: int | None = None) -> None:
        super().__init__(f"{method}: {description}" if error_code is None else f"{method}: {error_code} {description}")
        self.method = method
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.http_status = http_status

    @property
    def transient(self) -> bool:
        """Worth retrying: the server or the network failed, not the request."""
        return self.error_code is None or self.error_code >= 500

    @property
    def cant_parse_entities(self) -> bool:
        return self.error_code == 400 and "can't parse entities" in self.description


class TelegramUnauthorized(TelegramApiError):
    """401 Unauthorized: the bot token is wrong or revoked."""


class TelegramNetworkError(TelegramApiError):
    """No usable answer: connection refused/reset/dropped, timeout, or a non-JSON body."""


@dataclass(frozen=True)
class InputFile:
    """A file uploaded with multipart/form-data (sendPhoto `photo`, sendDocument `document`)."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


def backoff_s(attempt: int, base: float = 0.5, cap: float = 30.0, jitter: float = 0.2) -> float:
    """0.5, 1, 2, 4 … capped at `cap`, ±`jitter` (attempt 1 is the first retry)."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(0.0, delay * (1 + random.uniform(-jitter, jitter)))


class BotApi:
    """One bot's client. Create and use inside a running event loop; `close()` when done."""

    def __init__(self, token: str, api_root: str | None = None, *, max_connections: int = 32,
                 max_retry_after: float = 60.0) -> None:
        self.token = token
        self.api_root = (api_root or DEFAULT_API_ROOT).rstrip("/")
        self.max_retry_after = max_retry_after
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self.last_activity_at: float | None = None  # time.time() of the last HTTP answer (any status)

    def url(self, method: str) -> str:
        return f"{self.api_root}/bot{self.token}/{method}"

    def redact(self, text: str) -> str:
        return text.replace(self.token, "<token>") if self.token else text

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                trust_env=False, connector=aiohttp.TCPConnector(limit=self._max_connections),
                json_serialize=json.dumps)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, payload: Mapping[str, Any] | None = None, *, timeout: float = 30.0,
                   retries: int = 3, files: Mapping[str, InputFile] | None = None) -> Any:
        """The method's `result`, after the retry policy above. Raises TelegramApiError (or a subclass)."""
        attempt = 0
        while True:
            try:
                return await self.call_once(method, payload, timeout=timeout, files=files)
            except TelegramUnauthorized:
                raise
            except TelegramApiError as exc:
                if attempt >= retries:
                    raise
                if exc.error_code == 429:
                    wait = exc.retry_after if exc.retry_after is not None else 1.0
                    if wait > self.max_retry_after:
                        raise
                elif exc.transient:
                    wait = backoff_s(attempt + 1)
                else:
                    raise
                attempt += 1
                await asyncio.sleep(wait)

    async def call_once(self, method: str, payload: Mapping[str, Any] | None = None, *, timeout: float = 30.0,
                        files: Mapping[str, InputFile] | None = None) -> Any:
        """One HTTP exchange, no retry. getMe without arguments is a GET (as upstream's probes); every other
        call a JSON POST, or multipart when `files` are given."""
        client_timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10.0))
        try:
            if files:
                req = self._http().post(self.url(method), data=self._form(payload or {}, files), timeout=client_timeout)
            elif method == "getMe" and not payload:
                req = self._http().get(self.url(method), timeout=client_timeout)
            else:
                req = self._http().post(self.url(method), json=dict(payload or {}), timeout=client_timeout)
            async with req as resp:
                status = resp.status
                body = bytearray()
                async for piece in resp.content.iter_chunked(64 * 1024):  # all of it: the connection is reused
                    body += piece
                    if len(body) > MAX_RESPONSE_BYTES:
                        break
                self.last_activity_at = time.time()
        except TimeoutError:
            raise TelegramNetworkError(method, f"timed out after {timeout:g}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            detail = self.redact(str(exc)) or exc.__class__.__name__
            raise TelegramNetworkError(method, f"network error: {exc.__class__.__name__}: {detail}") from None
        return self._result(method, status, body)

    @staticmethod
    def _form(payload: Mapping[str, Any], files: Mapping[str, InputFile]) -> aiohttp.FormData:
        form = aiohttp.FormData()
        for key, value in payload.items():
            if value is None:
                continue
            form.add_field(key, value if isinstance(value, str) else json.dumps(value))
        for key, f in files.items():
            form.add_field(key, f.data, filename=f.filename, content_type=f.content_type)
        return form

    def _result(self, method: str, status: int, body: bytes | bytearray) -> Any:
        if len(body) > MAX_RESPONSE_BYTES:
            raise TelegramNetworkError(method, f"answer larger than {MAX_RESPONSE_BYTES} bytes", http_status=status)
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("ok"), bool):
            if status == 401:
                raise TelegramUnauthorized(method, "Unauthorized", error_code=401, http_status=status)
            if status >= 500:
                raise TelegramApiError(method, f"HTTP {status} (not a Bot API answer)", error_code=status,
                                       http_status=status)
            raise TelegramNetworkError(method, f"HTTP {status}: not a Bot API answer", http_status=status)
        if doc["ok"]:
            return doc.get("result")
        code = doc.get("error_code") if isinstance(doc.get("error_code"), int) else status
        description = str(doc.get("description") or f"HTTP {status}")
        params = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else {}
        retry_after = params.get("retry_after")
        retry_after = float(retry_after) if isinstance(retry_after, (int, float)) else None
        cls = TelegramUnauthorized if code == 401 else TelegramApiError
        raise cls(method, self.redact(description), error_code=code, retry_after=retry_after, http_status=status)
