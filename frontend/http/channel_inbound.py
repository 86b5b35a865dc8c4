"""Inbound channel POSTs on the gateway's one port: Telegram in webhook mode (`webhookPath`,
default `/telegram-webhook`) and the generic webhook channels (`/channels/webhook/<id>`).

The front-end checks the shared secret (Telegram: `X-Telegram-Bot-Api-Secret-Token` =
`webhookSecret`; webhook channel: `Authorization: Bearer <secret>` or `X-OpenClaw-Webhook-Secret`),
wrong guesses locked out like the hooks' (20 failures / 60 s per client and path, loopback not
exempt; the right secret always passes, so a flood of bad POSTs cannot make a bot deaf), then
hands the body to that account's worker (Ask `channel.inbound`), which answers once the message
is durable. Upstream's answers: wrong secret -> 401 text "unauthorized"; not POST -> 404;
accepted -> 200 with `x-openclaw-delivery-accepted: durable` (Telegram).
"""

from __future__ import annotations

import asyncio
import base64

import msgspec
from aiohttp import web
from openclaw.ipc.channels_config import inbound_paths, inbound_secret
from openclaw.ipc.errors import GatewayError
from openclaw.ipc.secrets_compare import secret_equals

from ..appkeys import SERVICES
from ..auth.client_address import resolve
from ..auth.rate_limit import AuthRateLimiter, Limits, RateLimited
from .bearer import bearer_of
from .body import BodyError, read_capped
from .openai_common import text_response

INBOUND_BODY_CAP = 1024 * 1024
INBOUND_LIMITS = Limits(max_attempts=20, window_ms=60_000, lockout_ms=60_000, exempt_loopback=False)
INBOUND_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0  # a body that stops arriving does not hold the connection longer
FORWARDED_HEADERS = ("content-type", "user-agent")
LIMITER: web.AppKey[AuthRateLimiter] = web.AppKey("channel_inbound_limiter", AuthRateLimiter)


def install(app: web.Application) -> None:
    app[LIMITER] = AuthRateLimiter(INBOUND_LIMITS)


async def maybe_inbound(request: web.Request) -> web.StreamResponse | None:
    """The answer when the path is a channel's inbound path, else None."""
    svc = request.app[SERVICES]
    acct = inbound_paths(svc.settings.config).get(request.path)
    if acct is None:
        return None
    if request.method != "POST":
        return text_response(404, "Not Found")
    limiter = request.app[LIMITER]
    key = f"{resolve(request.remote or '', request.headers, svc.trusted_proxies).ip} {request.path}"
    if acct.kind == "telegram":
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
    else:
        given = bearer_of(request) or request.headers.get("X-OpenClaw-Webhook-Secret")
    expected = inbound_secret(acct)
    if expected is None or not secret_equals(given, expected):
        # wrong guesses are limited per client and path; the right secret is never locked out (a flood of bad
        # POSTs from the reverse proxy's address must not make the bot deaf; secrets are >= 16 characters)
        try:
            limiter.admit(key, False)
        except RateLimited as exc:
            return text_response(429, "Too Many Requests", {"Retry-After": str(max(1, -(-exc.retry_after_ms // 1000)))})
        limiter.failed(key, False)
        return text_response(401, "unauthorized")
    try:
        body = await asyncio.wait_for(read_capped(request, INBOUND_BODY_CAP), BODY_TIMEOUT_S)
    except BodyError as exc:
        return text_response(exc.status, "payload too large" if exc.status == 413 else "bad request")
    except TimeoutError:
        return text_response(408, "request body too slow")
    params = {
        "headers": {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers},
        "body": base64.b64encode(body).decode("ascii"),
    }
    try:
        raw = await svc.router.ask("channel.inbound", msgspec.json.encode(params), INBOUND_TIMEOUT_S, slot=acct.slot)
        answer = msgspec.json.decode(raw)
    except (GatewayError, msgspec.DecodeError):
        return text_response(503, "channel unavailable; retry", {"Retry-After": "1"})
    if not isinstance(answer, dict):
        return text_response(503, "channel unavailable; retry", {"Retry-After": "1"})
    headers = answer.get("headers") if isinstance(answer.get("headers"), dict) else {}
    status = answer.get("status") if isinstance(answer.get("status"), int) else 500
    text = answer.get("body") if isinstance(answer.get("body"), str) else ""
    return web.Response(status=status, body=text.encode(), headers={str(k): str(v) for k, v in headers.items()})
