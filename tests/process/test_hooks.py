"""POST /hooks/wake and /hooks/agent (brief §5.7) against a real gateway; also the OpenAI endpoints'
default (disabled) state on the same gateway."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ..harness import TOKEN, Gateway, Home, running_gateway
from ..wsclient import open_client
from .http_kit import request

HOOK_TOKEN = "hook-secret-0123456789"
H = {"Authorization": f"Bearer {HOOK_TOKEN}"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("hooks"))
    cfg = home.default_config()
    cfg["hooks"] = {"enabled": True, "token": HOOK_TOKEN, "path": "/hooks"}
    home.write_config(cfg)
    with running_gateway(home) as gateway:
        yield gateway


def hook(gw: Gateway, name: str, body: object, headers: dict[str, str] | None = None, **kw: object):  # noqa: ANN201
    return request(gw, "POST", f"/hooks/{name}", body, headers=headers if headers is not None else H, auth=False, **kw)  # type: ignore[arg-type]


def test_openai_endpoints_off_by_default(gw: Gateway) -> None:
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/v1/responses"), ("POST", "/v1/embeddings")):
        r = request(gw, method, path, {} if method == "POST" else None)
        assert r.status == 404 and r.body == b"Not Found", path
        assert r.header("Content-Type", ).startswith("text/plain")


def test_hook_refusals(gw: Gateway) -> None:
    r = hook(gw, "wake", {"text": "x"}, headers={"Authorization": f"Bearer {TOKEN}"})  # the gateway token is not it
    assert r.status == 401 and r.body == b"Unauthorized"
    assert hook(gw, "wake", {"text": "x"}, headers={"X-OpenClaw-Token": HOOK_TOKEN}).status == 200
    r = request(gw, "POST", f"/hooks/wake?token={HOOK_TOKEN}", {"text": "x"}, auth=False)
    assert r.status == 400 and b"query parameters are not allowed" in r.body
    assert request(gw, "GET", "/hooks/wake", auth=False, headers=H).status == 405
    assert hook(gw, "other", {}).status == 404
    assert hook(gw, "agent", None, raw=b"x" * (256 * 1024 + 1)).status == 413


def test_wake(gw: Gateway) -> None:
    text = f"wake {time.monotonic_ns()}"
    assert hook(gw, "wake", {"text": text}).json() == {"ok": True, "mode": "now", "eventOutcome": "queued"}
    assert hook(gw, "wake", {"text": text}).json()["eventOutcome"] == "coalesced"
    r = hook(gw, "wake", {})
    assert r.status == 400 and r.json() == {"ok": False, "error": "text required"}


def test_agent_hook(gw: Gateway) -> None:
    r = hook(gw, "agent", {})
    assert r.status == 400 and r.json() == {"ok": False, "error": "message required"}
    r = hook(gw, "agent", {"message": "x", "sessionKey": "agent:main:mine"})
    assert r.status == 400 and "hooks.allowRequestSessionKey=true" in r.json()["error"]
    r = hook(gw, "agent", {"message": "from a hook"})
    assert r.status == 200 and r.json()["ok"] is True and r.json()["runId"]
    r = hook(gw, "agent", {"message": "wait for me", "waitForCompletion": True, "idempotencyKey": f"hk-{time.monotonic_ns()}"})
    body = r.json()
    assert body["completion"] == {"status": "ok", "replyDisposition": "visible", "delivered": False, "deliveryAttempted": False}
    c = open_client(gw.url)
    try:
        keys = [s["key"] for s in c.call("sessions.list", {})["payload"]["sessions"]]
        assert sum(k.startswith("agent:main:hook:") for k in keys) == 2, keys
    finally:
        c.close()


def test_bad_token_lockout(gw: Gateway) -> None:
    """20 wrong tokens in 60 s lock the client out for 60 s, loopback included (field reports)."""
    statuses = [hook(gw, "wake", {"text": "x"}, headers={"Authorization": "Bearer wrong"}).status for _ in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    r = hook(gw, "wake", {"text": "x"})  # even the right token, until the lockout ends
    assert r.status == 429 and int(r.header("Retry-After")) > 0
