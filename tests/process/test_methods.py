"""The seed methods over a real gateway (spec §3, scopes §2.7, errors §4).

One module-scoped gateway; every test opens and closes its own clients.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Callable

import psutil
import pytest

from ..harness import TOKEN, Gateway, Home, running_gateway, wait_for
from ..wsclient import Client, connect_params, open_client

REDACTED = "__OPENCLAW_REDACTED__"
PROCESS_NAMES = ["supervisor", "frontend", "agent", "node"]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = Home(tmp_path_factory.mktemp("methods"))
    with running_gateway(home) as gateway:
        yield gateway


@pytest.fixture
def admin(gw: Gateway) -> Iterator[Client]:
    c = open_client(gw.url, scopes=["operator.admin"])
    yield c
    c.close()


@pytest.fixture
def reader(gw: Gateway) -> Iterator[Client]:
    c = open_client(gw.url, scopes=["operator.read"])
    yield c
    c.close()


def ok(res: dict[str, Any]) -> Any:
    assert res["type"] == "res" and res["ok"] is True, res
    return res["payload"]


def error(res: dict[str, Any], code: str) -> dict[str, Any]:
    assert res["type"] == "res" and res["ok"] is False, res
    assert res["error"]["code"] == code, res
    return res["error"]


def presence_list(payload: Any) -> list[dict[str, Any]]:
    return payload if isinstance(payload, list) else payload["presence"]


def wait_event(c: Client, name: str, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
    """The first `name` event (buffered or new) for which pred(frame) holds."""
    for i, e in enumerate(c.events):
        if e.get("event") == name and pred(e):
            return c.events.pop(i)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching {name!r} event within {timeout}s")
        try:
            f = c.recv(timeout=remaining)
        except TimeoutError:
            raise AssertionError(f"no matching {name!r} event within {timeout}s") from None
        if f.get("type") == "event" and f.get("event") == name and pred(f):
            return f
        c.events.append(f)


def has_instance(entries: list[dict[str, Any]], iid: str) -> bool:
    return any(e.get("instanceId") == iid for e in entries)


# --------------------------------------------------------------------------- health


def test_health_ok_with_workers_ready(admin: Client) -> None:
    h = ok(admin.call("health"))
    assert h["ok"] is True
    assert isinstance(h["ts"], int)
    for name in ("agent", "node"):
        assert h["workers"][name]["ready"] is True, h["workers"]


def test_health_matches_hello_snapshot_shape(gw: Gateway) -> None:
    c = Client(gw.url)
    try:
        hello = ok(c.hello())
        h = ok(c.call("health"))
    finally:
        c.close()
    snap = hello["snapshot"]["health"]
    # hello-ok keeps to upstream's closed HealthSnapshot schema; the method adds this gateway's details
    assert set(snap) == {
        "ok", "ts", "durationMs", "plugins", "configReload", "channels", "channelOrder", "channelLabels",
        "heartbeatSeconds", "defaultAgentId", "agents", "sessions", "eventLoop",
    }
    assert snap["configReload"] == {"hotReloadStatus": "active"}
    assert set(snap) < set(h) and {"workers", "modelRuntime"} <= set(h)
    assert isinstance(snap["eventLoop"]["reasons"], list) and isinstance(snap["sessions"]["path"], str)


def test_health_needs_no_scope(gw: Gateway) -> None:
    c = open_client(gw.url, scopes=[])
    try:
        assert ok(c.call("health"))["ok"] is True
        err = error(c.call("status"), "FORBIDDEN")
        assert err["message"] == "missing scope: operator.read"
        assert err["details"] == {"code": "MISSING_SCOPE", "missingScope": "operator.read", "requiredScopes": ["operator.read"]}
    finally:
        c.close()


# --------------------------------------------------------------------------- status


def test_status_lists_every_process_of_the_tree(gw: Gateway, reader: Client) -> None:
    st = ok(reader.call("status"))
    assert st["pid"] == gw.pid
    rows = {p["name"]: p for p in st["supervision"]["processes"]}
    assert set(PROCESS_NAMES) <= set(rows), rows.keys()
    for name in PROCESS_NAMES:
        p = rows[name]
        assert isinstance(p["pid"], int) and p["pid"] > 0, p
        assert psutil.pid_exists(p["pid"]), p
        assert isinstance(p["state"], str) and p["state"], p
        assert isinstance(p["restarts"], int) and p["restarts"] >= 0, p
        assert isinstance(p["rssBytes"], int) and p["rssBytes"] > 0, p
    assert rows["supervisor"]["pid"] == gw.pid
    children = gw.children_by_title()
    for name in ("frontend", "agent", "node"):
        assert rows[name]["pid"] == children[name], (name, rows[name], children)
    assert len({rows[n]["pid"] for n in PROCESS_NAMES}) == len(PROCESS_NAMES)


# --------------------------------------------------------------------------- presence


def test_system_presence_has_gateway_self_entry(reader: Client) -> None:
    entries = ok(reader.call("system-presence"))
    assert isinstance(entries, list)
    selfs = [e for e in entries if e.get("mode") == "gateway" and e.get("reason") == "self"]
    assert len(selfs) == 1, entries
    me = selfs[0]
    for key in ("host", "ip", "version", "instanceId"):
        assert isinstance(me.get(key), str) and me[key], (key, me)
    assert isinstance(me["ts"], int)


def test_test_client_appears_in_presence_and_leaves(gw: Gateway, admin: Client) -> None:
    other = Client(gw.url)
    iid = str(uuid.uuid4())
    params = connect_params(client_id="test", mode="test", scopes=["operator.read"])
    params["client"]["instanceId"] = iid
    try:
        ok(other.call("connect", params))
        ev = wait_event(admin, "presence", lambda e: has_instance(presence_list(e["payload"]), iid))
        assert isinstance(ev["stateVersion"]["presence"], int)
        entry = next(e for e in presence_list(ev["payload"]) if e.get("instanceId") == iid)
        assert entry["mode"] == "test"
        assert has_instance(ok(admin.call("system-presence")), iid)
    finally:
        other.close()
    wait_event(admin, "presence", lambda e: not has_instance(presence_list(e["payload"]), iid))
    assert not has_instance(ok(admin.call("system-presence")), iid)


def test_presence_state_version_only_goes_up(gw: Gateway, admin: Client) -> None:
    versions = []
    for _ in range(2):
        iid = str(uuid.uuid4())
        params = connect_params(client_id="test", mode="test", scopes=[])
        params["client"]["instanceId"] = iid
        c = Client(gw.url)
        ok(c.call("connect", params))
        ev = wait_event(admin, "presence", lambda e: has_instance(presence_list(e["payload"]), iid))
        versions.append(ev["stateVersion"]["presence"])
        c.close()
        ev = wait_event(admin, "presence", lambda e: not has_instance(presence_list(e["payload"]), iid))
        versions.append(ev["stateVersion"]["presence"])
    assert versions == sorted(versions) and len(set(versions)) == len(versions), versions


def test_system_event_updates_presence_and_broadcasts(gw: Gateway, admin: Client) -> None:
    watcher = open_client(gw.url, scopes=["operator.read"])
    try:
        iid = f"sysevent-{uuid.uuid4()}"
        text = f"Node: tester · {uuid.uuid4()}"
        res = admin.call("system-event", {"text": text, "instanceId": iid, "host": "tester", "mode": "test"})
        assert ok(res) == {"ok": True}
        ev = wait_event(watcher, "presence", lambda e: has_instance(presence_list(e["payload"]), iid))
        assert isinstance(ev["stateVersion"]["presence"], int) and isinstance(ev["stateVersion"]["health"], int)
        entry = next(e for e in presence_list(ev["payload"]) if e.get("instanceId") == iid)
        assert entry["text"] == text and entry["host"] == "tester"
        listed = [e for e in ok(admin.call("system-presence")) if e.get("instanceId") == iid]
        assert len(listed) == 1 and listed[0]["text"] == text
        # A second event for the same instance updates it in place, with a newer stateVersion.
        text2 = text + " (again)"
        ok(admin.call("system-event", {"text": text2, "instanceId": iid}))
        ev2 = wait_event(
            watcher, "presence",
            lambda e: any(x.get("instanceId") == iid and x.get("text") == text2 for x in presence_list(e["payload"])),
        )
        assert ev2["stateVersion"]["presence"] > ev["stateVersion"]["presence"]
        assert len([e for e in ok(admin.call("system-presence")) if e.get("instanceId") == iid]) == 1
    finally:
        watcher.close()


def test_system_event_without_text_is_invalid(admin: Client) -> None:
    err = error(admin.call("system-event", {"host": "x"}), "INVALID_REQUEST")
    assert err["message"].startswith("invalid system-event params"), err
    error(admin.call("system-event", {}), "INVALID_REQUEST")
    error(admin.call("system-event"), "INVALID_REQUEST")


def test_system_event_needs_admin(reader: Client) -> None:
    err = error(reader.call("system-event", {"text": "hello"}), "FORBIDDEN")
    assert err["message"] == "missing scope: operator.admin"
    assert err["details"]["code"] == "MISSING_SCOPE"
    assert err["details"]["missingScope"] == "operator.admin"


def test_write_scope_satisfies_read_methods(gw: Gateway) -> None:
    c = open_client(gw.url, scopes=["operator.write"])
    try:
        ok(c.call("status"))
        ok(c.call("system-presence"))
        error(c.call("system-event", {"text": "x"}), "FORBIDDEN")
    finally:
        c.close()


# --------------------------------------------------------------------------- config.get


def test_config_get_redacts_the_token(gw: Gateway, reader: Client) -> None:
    cfg = ok(reader.call("config.get"))
    assert cfg["path"] == str(gw.home.config_path)
    assert cfg["exists"] is True
    assert isinstance(cfg["hash"], str) and cfg["hash"]
    assert TOKEN not in json.dumps(cfg), "the real gateway token leaked in config.get"
    assert cfg["parsed"]["gateway"]["auth"]["token"] == REDACTED
    assert REDACTED in cfg["raw"]
    assert json.loads(cfg["raw"])["gateway"]["auth"]["token"] == REDACTED
    assert cfg["parsed"]["gateway"]["auth"]["mode"] == "token"  # non-secrets untouched


def test_config_get_hash_is_stable(reader: Client) -> None:
    assert ok(reader.call("config.get"))["hash"] == ok(reader.call("config.get"))["hash"]


# --------------------------------------------------------------------------- logs.tail


def test_logs_tail_reads_the_log_file_with_a_cursor(gw: Gateway, admin: Client) -> None:
    log_file = gw.home.log_file
    wait_for(lambda: log_file.exists() and log_file.stat().st_size > 0, 10, what="log file written")
    first = ok(admin.call("logs.tail"))
    assert first["file"] == str(log_file)
    assert isinstance(first["cursor"], int) and first["cursor"] > 0
    assert first["lines"], first
    content = log_file.read_bytes()
    for line in first["lines"]:
        assert line.encode() in content, line
    cursor = first["cursor"]

    marker = f"logs-tail-marker-{uuid.uuid4()}"
    ok(admin.call("system-event", {"text": marker, "instanceId": f"logs-{uuid.uuid4()}"}))

    def newer() -> dict[str, Any] | None:
        page = ok(admin.call("logs.tail", {"cursor": cursor}))
        return page if any(marker in ln for ln in page["lines"]) else None

    page = wait_for(newer, 10, interval=0.05, what="marker line in logs.tail")
    tail = log_file.read_bytes()[cursor:]
    for line in page["lines"]:
        assert line.encode() in tail, f"line from before the cursor returned: {line}"
    assert not set(page["lines"]) & set(first["lines"])
    assert page["cursor"] > cursor


def test_logs_tail_limit_keeps_the_newest_lines(admin: Client) -> None:
    everything = ok(admin.call("logs.tail", {"limit": 5000}))
    assert len(everything["lines"]) >= 2
    one = ok(admin.call("logs.tail", {"limit": 1}))
    assert len(one["lines"]) == 1


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 5001}, {"maxBytes": 0}, {"unknownKey": 1}, {"cursor": "abc"}],
    ids=["limit-0", "limit-too-big", "maxBytes-0", "unknown-key", "cursor-string"],
)
def test_logs_tail_bad_params(admin: Client, params: dict[str, Any]) -> None:
    err = error(admin.call("logs.tail", params), "INVALID_REQUEST")
    assert err["message"].startswith("invalid logs.tail params"), err


# --------------------------------------------------------------------------- worker-backed methods


def test_sessions_list_empty(reader: Client) -> None:
    p = ok(reader.call("sessions.list", {}))
    assert p["sessions"] == []
    assert p["count"] == 0 and isinstance(p["ts"], int)


def test_node_list_empty(reader: Client) -> None:
    p = ok(reader.call("node.list", {}))
    assert p["nodes"] == [] and isinstance(p["ts"], int)


def test_channels_status_empty(reader: Client) -> None:
    p = ok(reader.call("channels.status", {}))
    assert p["channels"] == {} and p["channelOrder"] == [] and isinstance(p["ts"], int)


def test_worker_methods_accept_missing_params(reader: Client) -> None:
    for method in ("sessions.list", "node.list", "channels.status"):
        ok(reader.call(method))


# --------------------------------------------------------------------------- unknown methods


def test_unknown_method_with_admin_is_invalid_request(admin: Client) -> None:
    err = error(admin.call("no.such.method"), "INVALID_REQUEST")
    assert err["message"] == "unknown method: no.such.method"


@pytest.mark.parametrize("method", ["no.such.method", "node.pair.request", "gateway.restart"])
def test_unknown_method_without_admin_is_forbidden_first(reader: Client, method: str) -> None:
    err = error(reader.call(method), "FORBIDDEN")
    assert err["message"] == "missing scope: operator.admin"
    assert err["details"]["code"] == "MISSING_SCOPE" and err["details"]["missingScope"] == "operator.admin"


@pytest.mark.parametrize("method", ["node.pair.request", "node.pair.verify"])
def test_removed_methods_are_unknown_for_admin(admin: Client, method: str) -> None:
    assert error(admin.call(method), "INVALID_REQUEST")["message"] == f"unknown method: {method}"


def test_node_only_method_called_by_operator(admin: Client) -> None:
    err = error(admin.call("node.invoke.result", {"id": "x", "nodeId": "n", "ok": True}), "INVALID_REQUEST")
    assert err["message"] == "unauthorized role: operator"
