"""A session's run events reach its requester and its watchers, each with its own gap-free seq;
subscriptions are bounded and die with the connection (frontend/ws/hub.py topics)."""

from __future__ import annotations

import json

from openclaw.frontend.auth.principal import Principal
from openclaw.frontend.ws.hub import MAX_TOPICS_PER_CONNECTION, Hub
from openclaw.ipc import frames
from openclaw.ipc.errors import ErrorShape

READER = Principal(role="operator", scopes=("operator.read",), auth_method="token")
NO_SCOPES = Principal(role="operator", scopes=(), auth_method="token")


class Conn:
    def __init__(self, conn_id: str, principal: Principal = READER) -> None:
        self.conn_id, self.principal, self.seq, self.frames = conn_id, principal, 0, []

    def send_event(self, prefix: bytes) -> None:
        self.seq += 1
        self.frames.append(json.loads(frames.event_with_seq(prefix, self.seq)))


def _hub(*conns: Conn) -> Hub:
    hub = Hub(settings=None)  # type: ignore[arg-type]
    for c in conns:
        hub.add(c)  # type: ignore[arg-type]
    return hub


def test_requester_and_watchers_each_get_the_event_once_with_their_own_seq() -> None:
    requester, watcher, bystander = Conn("r"), Conn("w"), Conn("b")
    hub = _hub(requester, watcher, bystander)
    hub.subscribe("w", "agent:main:main")
    hub.subscribe("r", "agent:main:main")  # also the requester: still once
    bystander.send_event(frames.event_prefix("tick", b"{}"))  # its own stream moves on
    for i in range(3):
        hub.publish("agent:main:main", "r", "agent", json.dumps({"i": i}).encode())
    assert [f["payload"]["i"] for f in requester.frames] == [0, 1, 2]
    assert [f["seq"] for f in requester.frames] == [1, 2, 3]
    assert [f["seq"] for f in watcher.frames] == [1, 2, 3]
    assert len(bystander.frames) == 1  # not watching: nothing of the run


def test_events_need_the_read_scope_and_unknown_families_go_nowhere() -> None:
    blind, reader = Conn("x", NO_SCOPES), Conn("y")
    hub = _hub(blind, reader)
    hub.subscribe("x", "agent:main:main")
    hub.subscribe("y", "agent:main:main")
    hub.publish("agent:main:main", "x", "agent", b"{}")
    hub.publish("agent:main:main", "", "no-such-event", b"{}")
    assert blind.frames == [] and len(reader.frames) == 1


def test_subscriptions_are_bounded_and_dropped_with_the_connection() -> None:
    c = Conn("c")
    hub = _hub(c)
    for i in range(MAX_TOPICS_PER_CONNECTION + 10):
        hub.subscribe("c", f"agent:main:s{i}")
    hub.publish(f"agent:main:s{MAX_TOPICS_PER_CONNECTION + 5}", "", "agent", b"{}")
    assert c.frames == []  # past the bound: not subscribed
    hub.publish("agent:main:s0", "", "agent", b"{}")
    assert len(c.frames) == 1
    hub.remove(c)  # type: ignore[arg-type]
    assert hub._topics == {} and hub._conn_topics == {}
    hub.subscribe("c", "agent:main:s0")  # a closed connection cannot subscribe again
    assert hub._topics == {}


def test_unsubscribe_stops_the_stream() -> None:
    c = Conn("c")
    hub = _hub(c)
    hub.subscribe("c", "k")
    hub.subscribe("c", "k", on=False)
    hub.publish("k", "", "agent", b"{}")
    assert c.frames == [] and hub._topics == {}


def test_a_failed_run_res_carries_its_payload_and_the_error() -> None:
    res = json.loads(frames.response_error("1", ErrorShape(code="AGENT_TIMEOUT", message="t"), b'{"runId":"r","status":"error"}'))
    assert res == {"type": "res", "id": "1", "ok": False, "payload": {"runId": "r", "status": "error"},
                   "error": {"code": "AGENT_TIMEOUT", "message": "t"}}
    plain = json.loads(frames.response_error("1", ErrorShape(code="UNAVAILABLE", message="x")))
    assert "payload" not in plain
