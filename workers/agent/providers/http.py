"""HTTP plumbing shared by the wire-API providers: one aiohttp session, SSE reading, error mapping.

Timeouts (per request): connect 10 s; the first byte (response headers) within the request's
whole budget (`ModelRequest.timeout_s`); then at most `idle_s` (default 120 s, the provider's
`timeoutSeconds`) between two chunks of the body, and never past the whole budget. A request
that ends early for any reason (cancellation, an exception, an abandoned iterator) closes its
connection, so the provider sees the client go away.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # aiohttp's client costs ~0.2 s to import: loaded by the first model call, not at worker start
    import aiohttp

from .base import ProviderError

CONNECT_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 120.0
MAX_SSE_LINE = 16 * 1024 * 1024  # one SSE line (a whole tool-call argument blob fits)
MAX_ERROR_BODY = 64 * 1024
NOT_FOUND_MESSAGE = "The selected model was not found by the provider. Check the model id or choose a different model."


class HttpTransport:
    """One aiohttp ClientSession (one connector) for every provider call of a worker."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def session(self) -> aiohttp.ClientSession:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S),
                trust_env=False,
                auto_decompress=True,
            )
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()


TRANSPORT = HttpTransport()  # the worker's one session; catalog.aclose() closes it


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_text(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"][:300]
        if isinstance(err, str):
            return err[:300]
        if isinstance(data.get("message"), str):
            return data["message"][:300]
    return json.dumps(data)[:300]


def status_error(label: str, status: int, body: bytes, retry_after_header: str | None) -> ProviderError:
    detail = _error_text(body)
    tail = f": {detail}" if detail else ""
    if status in (401, 403):
        return ProviderError("auth", f"{label}: authentication failed (HTTP {status}){tail}", status=status)
    if status == 404:
        return ProviderError("not_found", NOT_FOUND_MESSAGE, status=status)
    if status == 429:
        return ProviderError(
            "rate_limit", f"{label}: rate limited (HTTP 429){tail}", status=status, retryable=True,
            retry_after=parse_retry_after(retry_after_header),
        )
    if status == 408 or status >= 500:
        return ProviderError(
            "overloaded", f"{label}: provider error (HTTP {status}){tail}", status=status, retryable=True,
            retry_after=parse_retry_after(retry_after_header),
        )
    return ProviderError("bad_request", f"{label}: request rejected (HTTP {status}){tail}", status=status)


@asynccontextmanager
async def open_stream(
    label: str, url: str, headers: dict[str, str], body: dict[str, Any], *, deadline: float
) -> AsyncIterator[aiohttp.ClientResponse]:
    """POST `body` as JSON; yield the 2xx response (closed on any early exit); raise ProviderError otherwise."""
    import aiohttp

    session = TRANSPORT.session()
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(max(0.001, deadline - loop.time())):
            resp = await session.post(url, data=json.dumps(body), headers={**headers, "content-type": "application/json"})
    except TimeoutError:
        raise ProviderError("timeout", f"{label}: no response within the request timeout") from None
    except aiohttp.InvalidURL as exc:
        raise ProviderError("config", f"{label}: bad baseUrl ({exc})") from None
    except aiohttp.ClientConnectorError as exc:
        raise ProviderError("network", f"{label}: cannot connect to {url} ({exc.os_error or exc})", retryable=True) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ProviderError("network", f"{label}: request failed ({type(exc).__name__}: {exc})", retryable=True) from None
    done = False
    try:
        if resp.status >= 300:
            try:
                async with asyncio.timeout(min(10.0, max(0.001, deadline - loop.time()))):
                    err_body = await resp.content.read(MAX_ERROR_BODY)
            except (TimeoutError, aiohttp.ClientError, OSError):
                err_body = b""
            raise status_error(label, resp.status, err_body, resp.headers.get("retry-after"))
        yield resp
        done = True
    finally:
        if done:
            resp.release()
        else:
            resp.close()  # drop the connection: the provider sees the client leave


async def sse_events(
    label: str, resp: aiohttp.ClientResponse, *, idle_s: float, deadline: float
) -> AsyncIterator[tuple[str, str]]:
    """(event, data) per Server-Sent Event of the body; `event` is "" when the server named none."""
    import aiohttp

    loop = asyncio.get_running_loop()
    buf = b""
    event = ""
    data: list[str] = []
    content = resp.content
    while True:
        budget = min(idle_s, deadline - loop.time())
        if budget <= 0:
            raise ProviderError("timeout", f"{label}: the response did not finish within the request timeout")
        try:
            async with asyncio.timeout(budget):
                chunk = await content.readany()
        except TimeoutError:
            raise ProviderError("timeout", f"{label}: the stream stalled (no data for {budget:.0f} s)") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ProviderError("network", f"{label}: the stream broke ({type(exc).__name__}: {exc})") from None
        if not chunk:
            if data:
                yield event, "\n".join(data)
            return
        buf += chunk
        if b"\n" not in chunk:
            if len(buf) > MAX_SSE_LINE:
                raise ProviderError("protocol", f"{label}: an SSE line longer than {MAX_SSE_LINE} bytes")
            continue
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            line = line.removesuffix("\r")
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value


def parse_json(label: str, data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise ProviderError("protocol", f"{label}: unparseable stream data {data[:120]!r}") from None


def parse_arguments(label: str, text: str) -> dict[str, Any]:
    """A tool call's assembled JSON arguments ("" means {})."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise ProviderError("protocol", f"{label}: tool-call arguments are not JSON: {text[:120]!r}") from None
    if not isinstance(value, dict):
        raise ProviderError("protocol", f"{label}: tool-call arguments are not a JSON object")
    return value
