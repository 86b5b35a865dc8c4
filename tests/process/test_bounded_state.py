"""What one client can make the gateway hold, against a real gateway: system-event input bounds
and the slow-consumer cut (spec R11: closed 1008 with a reason once the advertised
maxBufferedBytes is reached, never a silent gap; other clients unaffected)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ..harness import TOKEN, Gateway, Home, running_gateway, wait_for
from ..rawws import RawWS
from ..wsclient import open_client

MAX_BUFFERED = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(Home(tmp_path_factory.mktemp("bounded"))) as gateway:
        yield gateway


@pytest.mark.parametrize("params, where", [
    ({"text": "t" * 4097}, "/text: must NOT have more than 4096 characters"),
    ({"text": "t", "host": "h" * 257}, "/host: must NOT have more than 256 characters"),
    ({"text": "t", "tags": ["x"] * 33}, "/tags: must NOT have more than 32 items"),
    ({"text": "t", "roles": ["r" * 65]}, "/roles/0: must NOT have more than 64 characters"),
    ({"text": "\U0001f600" * 4096, "instanceId": "wide"}, "the entry is"),
])
def test_system_event_refuses_over_long_input(gw: Gateway, params: dict[str, Any], where: str) -> None:
    c = open_client(gw.url)
    try:
        res = c.call("system-event", params)
        assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
        assert where in res["error"]["message"], res
        entries = c.call("system-presence")["payload"]
        assert not any(e.get("instanceId") == "wide" for e in entries)
    finally:
        c.close()


def test_slow_consumer_is_cut_at_the_advertised_limit_with_1008(gw: Gateway) -> None:
    slow = RawWS(gw.port, rcvbuf=16 * 1024)
    hello = slow.hello(TOKEN)
    assert hello["payload"]["policy"]["maxBufferedBytes"] == MAX_BUFFERED
    fast = open_client(gw.url)
    stop = threading.Event()
    cut: list[dict[str, Any]] = []

    def cut_record() -> dict[str, Any] | None:
        for r in gw.home.log_records():
            if r.get("message") == "closing slow consumer" and r.get("fields", {}).get("conn") == hello["payload"]["server"]["connId"]:
                return r["fields"]
        return None

    def drive() -> None:  # presence broadcasts of ~1 MiB each, as fast as the gateway takes them
        n = 0
        while not stop.is_set():
            n += 1
            res = fast.call("system-event", {"text": "e" * 4000, "instanceId": f"slow-{n % 256}"})
            assert res["ok"], res

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    try:
        cut.append(wait_for(cut_record, 60, interval=0.1, what="the slow consumer cut"))
    finally:
        stop.set()
        driver.join(30)
    fields = cut[0]
    assert fields["buffered"] <= MAX_BUFFERED < fields["buffered"] + fields["frame"], fields
    # What it was sent arrives in order, then the close frame: a reason, never a silent gap.
    code, reason, seen = slow.until_close(20)
    slow.close()
    assert (code, reason) == (1008, "slow consumer")
    seqs = [json.loads(p)["seq"] for p in seen if re.match(rb'\{"type":"event"', p) and b'"seq"' in p]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap in what the slow consumer got"
    try:
        assert fast.call("health")["ok"]  # the other client is unaffected
    finally:
        fast.close()
