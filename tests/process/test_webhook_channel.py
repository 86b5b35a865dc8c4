"""The generic webhook channel (`channels.webhook.<id>`) end to end on a real gateway: inbound POST
with the shared secret -> agent run (offline provider) -> reply POSTed to the configured URL;
`send` through it, idempotent; `send` errors; per-account restart and status."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ..harness import Gateway, Home, running_gateway, wait_for
from ..wsclient import open_client
from .http_kit import request

SECRET = "inbound-secret-0123456789"


class Receiver:
    """A local HTTP server standing in for the system the webhook channel replies to."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.posts.append({"headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replies"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("webhook-channel"))
    cfg = home.default_config()
    cfg["channels"] = {"webhook": {
        "crm": {"secret": SECRET, "replyUrl": receiver.url, "replyHeaders": {"X-Receiver-Key": "k1"}},
        "ops": {"secret": SECRET + "-ops", "allowFrom": ["alice"], "path": "/in/ops"},
    }}
    home.write_config(cfg)
    with running_gateway(home) as gateway:
        wait_for(lambda: {"channel:webhook:crm", "channel:webhook:ops"} <= set(gateway.children_by_title()), 15,
                 what="both webhook channel workers")
        yield gateway


def post(gw: Gateway, path: str, body: Any, secret: str | None = SECRET, **kw: Any):  # noqa: ANN201
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return request(gw, "POST", path, body, headers=headers, auth=False, **kw)


def test_inbound_message_becomes_a_run_whose_reply_is_posted_back(gw: Gateway, receiver: Receiver) -> None:
    mid = f"m-{uuid.uuid4()}"
    r = post(gw, "/channels/webhook/crm", {"from": "Alice", "text": "hello there", "messageId": mid})
    assert r.status == 202, r.body
    assert r.json() == {"accepted": True, "runId": f"webhook:crm:{mid}"}
    reply = wait_for(lambda: next((p for p in receiver.posts if p["body"].get("inReplyTo") == mid), None), 15,
                     what="the reply POST")
    assert reply["body"]["text"] == "Echo: hello there"
    assert reply["body"]["to"] == "Alice" and reply["body"]["channel"] == "webhook" and reply["body"]["accountId"] == "crm"
    assert reply["headers"].get("X-Receiver-Key") == "k1"
    c = open_client(gw.url)
    try:  # the run is in the session the spec's default dmScope gives (main), visible to operators
        rows = c.call("sessions.list", {})["payload"]["sessions"]
        assert any(s["key"] == "agent:main:main" for s in rows)
        st = c.call("channels.status", {})["payload"]
        crm = next(a for a in st["channelAccounts"]["webhook"] if a["accountId"] == "crm")
        assert crm["running"] is True and crm["lastInboundAt"] and crm["lastOutboundAt"] and crm["pid"]
        assert st["channelOrder"] == ["webhook"] and st["channelLabels"] == {"webhook": "Webhook"}
    finally:
        c.close()


def test_inbound_refusals(gw: Gateway) -> None:
    assert post(gw, "/channels/webhook/crm", {"from": "a", "text": "x"}, secret="wrong").status == 401
    assert post(gw, "/channels/webhook/crm", {"from": "a", "text": "x"}, secret=None).status == 401
    r = post(gw, "/channels/webhook/crm", {"from": "a", "text": "x"}, secret=SECRET + "-ops")  # the other channel's
    assert r.status == 401 and r.body == b"unauthorized"
    assert request(gw, "GET", "/channels/webhook/crm", auth=False).status == 404
    assert post(gw, "/channels/webhook/crm", {"text": "no sender"}).status == 400
    assert post(gw, "/channels/webhook/crm", None, raw=b"{not json").status == 400
    assert post(gw, "/channels/webhook/crm", None, raw=b"x" * (1024 * 1024 + 1)).status == 413
    assert post(gw, "/channels/webhook/nope", {"from": "a", "text": "x"}).status == 404
    # the allowlist of the other channel, on its own path
    assert post(gw, "/in/ops", {"from": "mallory", "text": "x"}, secret=SECRET + "-ops").status == 403
    assert post(gw, "/in/ops", {"from": "alice", "text": "x"}, secret=SECRET + "-ops").status == 202


def test_send_is_routed_idempotent_and_fails_clearly(gw: Gateway, receiver: Receiver) -> None:
    c = open_client(gw.url)
    try:
        key = f"snd-{uuid.uuid4()}"
        params = {"to": "bob", "message": "from the operator", "channel": "webhook", "accountId": "crm", "idempotencyKey": key}
        first = c.call("send", params)
        assert first["ok"], first
        assert first["payload"]["runId"] == key and first["payload"]["channel"] == "webhook" and first["payload"]["messageId"]
        again = c.call("send", params)
        assert again["payload"] == first["payload"]
        sent = [p for p in receiver.posts if p["body"].get("text") == "from the operator"]
        assert len(sent) == 1 and sent[0]["body"]["to"] == "bob"  # a retried send never posts twice
        other = c.call("send", {**params, "message": "something else"})
        assert other["error"]["code"] == "INVALID_REQUEST" and "already used" in other["error"]["message"]

        def err(p: dict[str, Any]) -> dict[str, Any]:
            res = c.call("send", {"idempotencyKey": str(uuid.uuid4()), **p})
            assert not res["ok"], res
            return res["error"]

        assert err({"to": "x", "message": "m", "channel": "whatsapp"})["message"] == "unsupported channel: whatsapp"
        assert "not configured" in err({"to": "x", "message": "m", "channel": "telegram"})["message"]
        assert "accountId is required" in err({"to": "x", "message": "m", "channel": "webhook"})["message"]
        assert "unknown webhook account" in err({"to": "x", "message": "m", "channel": "webhook", "accountId": "zz"})["message"]
        assert "message or media" in err({"to": "x", "channel": "webhook", "accountId": "crm"})["message"]
        assert "idempotencyKey" in c.call("send", {"to": "x", "message": "m"})["error"]["message"]
        # ops has no replyUrl: delivery fails fast with a clear error, no fallback
        e = err({"to": "x", "message": "m", "channel": "webhook", "accountId": "ops"})
        assert e["code"] == "UNAVAILABLE" and "no replyUrl" in e["message"]
    finally:
        c.close()


def test_message_action_send_as_the_upstream_cli_calls_it(gw: Gateway, receiver: Receiver) -> None:
    c = open_client(gw.url)
    try:
        res = c.call("message.action", {
            "channel": "webhook", "action": "send", "accountId": "crm", "idempotencyKey": str(uuid.uuid4()),
            "params": {"channel": "webhook", "target": "carol", "message": "via message.action", "to": "webhook:carol",
                       "dryRun": False, "json": True},
        })
        assert res["ok"], res
        p = res["payload"]  # upstream's delivery result (the CLI prints it inside its own envelope)
        assert p["ok"] is True and p["messageId"] and p["chatId"] == "carol" and p["receipt"] == {}
        assert any(x["body"].get("text") == "via message.action" and x["body"]["to"] == "carol" for x in receiver.posts)
    finally:
        c.close()


def test_a_channel_added_on_a_running_gateway_takes_posts_and_sends(make_gateway, home: Home, receiver: Receiver) -> None:
    gw = make_gateway()
    cfg = home.default_config()
    cfg["channels"] = {"webhook": {"late": {"secret": SECRET, "replyUrl": receiver.url}}}
    home.write_config(cfg)
    gw.wait_applied()
    wait_for(lambda: "channel:webhook:late" in gw.children_by_title(), 15, what="the new channel's worker")
    r = wait_for(lambda: (x := post(gw, "/channels/webhook/late", {"from": "dan", "text": "late hello"})).status == 202 and x,
                 10, what="the front-end routing the new path")
    run_id = r.json()["runId"]
    wait_for(lambda: any(p["body"].get("runId") == run_id for p in receiver.posts), 15, what="the reply")
    c = open_client(gw.url)
    try:
        assert c.call("send", {"to": "dan", "message": "late send", "idempotencyKey": str(uuid.uuid4())})["ok"]
    finally:
        c.close()
    del cfg["channels"]
    home.write_config(cfg)
    gw.wait_applied()
    wait_for(lambda: post(gw, "/channels/webhook/late", {"from": "dan", "text": "x"}).status == 404, 10,
             what="the path gone with the channel")


def test_wrong_secrets_are_locked_out_but_the_right_one_never_is(gw: Gateway) -> None:
    statuses = [post(gw, "/in/ops", {"from": "alice", "text": "x"}, secret=f"guess-{i:02d}-0123456789").status for i in range(22)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429, 429]
    assert post(gw, "/in/ops", {"from": "alice", "text": "x"}, secret=SECRET + "-ops").status == 202  # the bot stays reachable
    assert post(gw, "/channels/webhook/crm", {"from": "a", "text": "x"}, secret="wrong-0123456789").status == 401  # per path


def test_broken_bodies_and_targets_get_clear_errors(gw: Gateway) -> None:
    r = request(gw, "POST", "/channels/webhook/crm", None, raw=b"not gzip at all", auth=False,
                headers={"Authorization": f"Bearer {SECRET}", "Content-Encoding": "gzip"})
    assert r.status == 400, r.body
    c = open_client(gw.url)
    try:
        for to, why in (("", "must name a recipient"), ("webhook:", "must name a recipient"),
                        ("telegram:555", "names the telegram channel but channel is webhook")):
            e = c.call("send", {"to": to, "message": "m", "channel": "webhook", "accountId": "crm",
                                "idempotencyKey": str(uuid.uuid4())})["error"]
            assert e["code"] == "INVALID_REQUEST" and why in e["message"], (to, e)
    finally:
        c.close()
