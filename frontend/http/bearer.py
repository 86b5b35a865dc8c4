"""Bearer auth of the HTTP API (/v1/*, /tools/invoke; brief §5.1): the gateway's shared secret
(token or password), through the same failed-auth rate limiter as WebSocket connects.

Returns None when the request may go on, else the response to send: 401
`{"error":{"message":"Unauthorized","type":"unauthorized"}}`, 429 + Retry-After when the
client's key is locked out (or a loopback client's queue of delayed attempts is full), 400
for forwarded headers from an untrusted proxy. A loopback client past the limit waits its turn
(the limiter's progressive delay) before its credential is judged, as on WebSocket.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from openclaw.ipc.secrets_compare import secret_equals

from ..auth.client_address import resolve
from ..auth.rate_limit import RateLimited
from .responses import json_error

if TYPE_CHECKING:
    from ..services import Services


def bearer_of(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized() -> web.Response:
    return json_error(401, "Unauthorized", "unauthorized")


async def authorize(request: web.Request, svc: Services) -> web.Response | None:
    g = svc.settings.gateway
    if g.auth_mode == "none":
        return None
    addr = resolve(request.remote or "", request.headers, svc.trusted_proxies)
    if addr.refused is not None:
        return json_error(400, "forwarded headers from an untrusted proxy (add it to gateway.trustedProxies)",
                          "invalid_request_error")
    browser = request.headers.get("Origin")
    limiter = svc.auth_limiter
    exempt = limiter.limits.exempt_loopback and addr.is_loopback and browser is None
    key = f"{addr.ip}|{browser}" if browser else addr.ip
    try:
        wait = limiter.admit(key, exempt)
    except RateLimited as exc:
        secs = max(1, -(-exc.retry_after_ms // 1000))
        return json_error(429, "Too many failed authentication attempts; retry later", "rate_limited",
                          headers={"Retry-After": str(secs)})
    if wait > 0:
        await asyncio.sleep(wait)
    expected = svc.settings.expected_secret
    if expected is not None and secret_equals(bearer_of(request), expected):
        limiter.succeeded(key)
        return None
    limiter.failed(key, exempt)
    return unauthorized()
