"""Wrong credentials are limited per client key (field-reports S1, `gateway.auth.rateLimit`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..harness import Gateway
from ..wsclient import Client, connect_params


def attempt(gw: Gateway, token: str, **headers: str) -> dict:
    c = Client(gw.url, headers=headers or None)
    try:
        return c.call("connect", connect_params(token=token))
    finally:
        c.close()


def test_lockout_after_ten_failures_when_loopback_is_not_exempt(make_gateway: Callable[..., Gateway], home) -> None:
    gw = make_gateway(config=home.default_config(auth={"mode": "token", "token": "t" * 40,
                                                       "rateLimit": {"exemptLoopback": False, "lockoutMs": 60_000}}))
    codes = [attempt(gw, f"wrong-{i}")["error"]["details"]["code"] for i in range(10)]
    assert codes == ["AUTH_TOKEN_MISMATCH"] * 10
    locked = attempt(gw, "wrong-11")
    err = locked["error"]
    assert err["details"]["code"] == "AUTH_RATE_LIMITED" and err["retryable"] is True
    assert 50_000 < err["retryAfterMs"] <= 60_000 and err["details"]["retryAfterMs"] == err["retryAfterMs"]
    # while locked out even the right secret is not looked at
    assert attempt(gw, "t" * 40)["error"]["details"]["code"] == "AUTH_RATE_LIMITED"


def test_loopback_is_slowed_down_not_locked_out(make_gateway: Callable[..., Gateway], home) -> None:
    gw = make_gateway(config=home.default_config(auth={"mode": "token", "token": "t" * 40}))
    for i in range(10):
        assert attempt(gw, f"wrong-{i}")["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    t0 = time.monotonic()
    slowed = attempt(gw, "wrong-10")
    assert slowed["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    assert time.monotonic() - t0 >= 0.25  # the 11th guess waited its turn
    ok = attempt(gw, "t" * 40)
    assert ok["ok"] is True, ok
