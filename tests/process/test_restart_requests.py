"""`gateway.restart.request` against a real gateway: checked params, a `target` that must be us,
and coalescing (a storm of requests is one restart per cooldown; signals are not gated)."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from ..harness import Gateway, Home, wait_for
from ..wsclient import Client, open_client

COOLDOWN_MS = 10_000  # the storm and its retries fit in it even on a loaded machine


def restarts(gw: Gateway) -> int:
    return gw.home.log_messages().count("in-process restart")


def generation(gw: Gateway) -> int:
    c = open_client(gw.url)
    try:
        return c.call("status")["payload"]["supervision"]["generation"]
    finally:
        c.close()


def send_some(c: Client, n: int) -> list[str]:
    """Send up to n requests; on a loaded machine the restart may close the socket before all are out."""
    rids = []
    try:
        for _ in range(n):
            rids.append(c.request("gateway.restart.request", {"reason": "storm"}))
    except ConnectionClosed:
        pass
    return rids


def storm(gw: Gateway, clients: int, total: int) -> list[dict[str, Any]]:
    """`total` requests pipelined at once over `clients` connections; a request the draining
    front-end answered `retry` (or left unanswered as it closed) is sent again on a new connection
    until every one is answered ok."""
    answers: list[dict[str, Any]] = []
    todo = total
    deadline = time.monotonic() + 30
    while todo > 0 and time.monotonic() < deadline:
        conns = [open_client(gw.url) for _ in range(min(clients, todo))]
        shares = [todo // len(conns) + (i < todo % len(conns)) for i in range(len(conns))]
        sent = [send_some(c, n) for c, n in zip(conns, shares)]
        for c, rids in zip(conns, sent):
            for rid in rids:
                try:
                    res = c.response(rid)
                except ConnectionClosed:
                    break
                if res["ok"]:
                    answers.append(res["payload"])
                    todo -= 1
                else:
                    assert res["error"]["code"] == "UNAVAILABLE" and res["error"]["retryable"], res
        for c in conns:
            c.close()
        gw.wait_ready()
    assert todo == 0, f"{todo} requests never answered ok"
    return answers


def test_a_storm_is_one_restart_per_cooldown_and_signals_are_not_gated(make_gateway, home: Home) -> None:
    gw = make_gateway(env=home.env(OPENCLAW_RESTART_COOLDOWN_MS=str(COOLDOWN_MS)))
    t0 = time.monotonic()
    answers = storm(gw, clients=4, total=100)
    storm_s = time.monotonic() - t0
    assert len(answers) == 100 and storm_s < COOLDOWN_MS / 1000 - 1, storm_s  # all of it within the cooldown
    fresh = [a for a in answers if not a["restart"]["coalesced"]]
    assert len(fresh) == 1 and fresh[0]["status"] == "scheduled" and fresh[0]["restart"]["cooldownMsApplied"] == 0
    for a in answers:
        r = a["restart"]
        assert r["generation"] == 1 and r["delayMs"] == 0, a
        assert a["status"] == ("coalesced" if r["coalesced"] else "scheduled")
        assert r["coalesced"] is False or 0 < r["cooldownMsApplied"] <= COOLDOWN_MS, a
    assert restarts(gw) == 1 and generation(gw) == 1

    gw.signal(signal.SIGUSR1)  # within the cooldown: the operator's signal restarts anyway
    wait_for(lambda: restarts(gw) == 2, 10, what="the signalled restart")
    gw.wait_ready()
    c = open_client(gw.url)
    r = c.call("gateway.restart.request")["payload"]["restart"]
    assert r["coalesced"] and r["generation"] == 2 and r["cooldownMsApplied"] > 0, r  # a signal starts the cooldown
    signalled = time.monotonic()

    def probe() -> dict[str, Any] | None:  # one request at a time until one restarts the gateway
        res = c.call("gateway.restart.request", {"reason": "after the cooldown"})["payload"]
        return None if res["restart"]["coalesced"] else res

    res = wait_for(probe, COOLDOWN_MS / 1000 + 10, interval=0.2, what="a request past the cooldown")
    assert time.monotonic() - signalled >= (COOLDOWN_MS - r["cooldownMsApplied"]) / 1000 - 0.5
    assert res["status"] == "scheduled" and res["restart"]["generation"] == 3
    with pytest.raises(ConnectionClosed):
        c.next_event("never", timeout=10)
    gw.wait_ready()
    assert restarts(gw) == 3 and generation(gw) == 3


@pytest.mark.parametrize(
    "params",
    [
        [],
        {"reason": 5},
        {"skipDeferral": "yes"},
        {"safe": "true"},
        {"target": {"pid": 1, "port": 1}},
        {"target": {"pid": 0, "ownerId": "o", "port": 1}},
        {"restartIntent": {"force": "yes"}},
        {"restartIntent": 3},
    ],
)
def test_bad_params_are_refused_and_restart_nothing(gateway: Gateway, params: Any) -> None:
    c = open_client(gateway.url)
    err = c.call("gateway.restart.request", params)["error"]
    assert err["code"] == "INVALID_REQUEST" and err["message"].startswith("invalid gateway.restart.request params: "), err
    assert c.call("health")["ok"]
    c.close()
    assert restarts(gateway) == 0


def test_a_target_must_be_this_gateway(gateway: Gateway) -> None:
    c = open_client(gateway.url)
    pids = gateway.children_by_title()
    for target in (
        {"pid": gateway.pid, "ownerId": "o", "port": gateway.port + 1},
        {"pid": pids["agent"], "ownerId": "o", "port": gateway.port},
        {"pid": 1, "ownerId": "o", "port": gateway.port},
    ):
        err = c.call("gateway.restart.request", {"target": target})["error"]
        assert err["code"] == "INVALID_REQUEST" and "target is another gateway" in err["message"], err
        assert err["details"] == {"code": "RESTART_TARGET_MISMATCH", "pid": gateway.pid, "port": gateway.port}
    assert restarts(gateway) == 0 and gateway.children_by_title() == pids
    target = {"pid": pids["frontend"], "ownerId": "owner", "port": gateway.port}  # the pid on the port is us too
    res = c.call("gateway.restart.request", {"target": target, "restartIntent": {"waitMs": 10}, "extra": True})
    assert res["ok"] and res["payload"]["pid"] == pids["frontend"] == res["payload"]["restart"]["pid"], res
    assert res["payload"]["status"] == "scheduled"
    c.close()
    wait_for(lambda: restarts(gateway) == 1, 10, what="the targeted restart")
    gateway.wait_ready()


def test_result_shape_is_upstreams(gateway: Gateway) -> None:
    c: Client = open_client(gateway.url)
    p = c.call("gateway.restart.request", {"reason": "  shape  "})["payload"]
    c.close()
    assert set(p) == {"ok", "status", "preflight", "restart"}
    assert set(p["preflight"]) == {"safe", "counts", "blockers", "summary"} and p["preflight"]["counts"]["totalActive"] == 0
    assert p["restart"] == {
        "ok": True, "pid": gateway.pid, "signal": "SIGUSR2", "reason": "shape", "mode": "supervisor",
        "cooldownMsApplied": 0, "delayMs": 0, "coalesced": False, "emitHooksQueued": False, "generation": 1,
    }
    gateway.wait_ready()
