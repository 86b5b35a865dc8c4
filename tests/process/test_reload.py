"""Config hot reload as an operator does it: edit the file of a running gateway and watch what happens.

Only the processes a change concerns are touched; open WebSocket clients stay connected through
hot and worker-scoped changes and lose no request; an invalid edit keeps the last good config and
says what is wrong, with the line and column.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from ..harness import NO_TELEGRAM, TOKEN, Gateway, Home, free_port, port_open, wait_for
from ..wsclient import Client, open_client


def config(home: Home, **extra: Any) -> dict[str, Any]:
    cfg = home.default_config()
    for key, value in extra.items():
        cfg[key] = value
    return cfg


class Caller(threading.Thread):
    """A client calling methods of the front-end and of workers without pause; counts failures."""

    def __init__(self, url: str, methods: tuple[str, ...] = ("sessions.list", "node.list", "health")) -> None:
        super().__init__(daemon=True)
        self.client = open_client(url)
        self.methods = methods
        self.stop = threading.Event()
        self.calls = 0
        self.failures: list[dict[str, Any]] = []
        self.closed: BaseException | None = None
        self.seqs: list[int] = []

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for m in self.methods:
                    res = self.client.call(m)
                    self.calls += 1
                    if not res.get("ok"):
                        self.failures.append(res)
        except ConnectionClosed as exc:
            self.closed = exc

    def finish(self) -> None:
        self.stop.set()
        self.join(10)
        self.seqs = [e["seq"] for e in self.client.events if "seq" in e]
        self.client.close()


def test_hot_change_touches_no_process_and_drops_no_request(make_gateway, home: Home) -> None:
    gw = make_gateway()
    before = gw.children_by_title()
    caller = Caller(gw.url)
    caller.start()
    try:
        cfg = config(home)
        cfg["gateway"]["http"] = {"endpoints": {"chatCompletions": {"enabled": True}}}
        home.write_config(cfg)
        reload = gw.wait_applied()
        assert reload["lastActions"] == ["hot-applied (gateway.http.endpoints.chatCompletions.enabled) to frontend"]
        cfg["logging"]["level"] = "debug"
        home.write_config(cfg)
        reload = gw.wait_applied()
        assert "hot-applied (logging.level) to frontend, agent, node" in reload["lastActions"], reload
        wait_for(lambda: caller.calls > 50, 10, what="calls after the changes")
    finally:
        caller.finish()
    assert caller.closed is None and caller.failures == []
    assert gw.children_by_title() == before  # no process was restarted
    assert caller.seqs == list(range(1, len(caller.seqs) + 1))  # the event stream has no gap
    assert "hot-applied (logging.level) to frontend, agent, node" in home.log_messages()  # one line per decision


def test_worker_scoped_change_replaces_that_worker_only_blue_green(make_gateway, home: Home) -> None:
    gw = make_gateway()
    before = gw.children_by_title()
    caller = Caller(gw.url)
    caller.start()
    try:
        home.write_config(config(home, memory={"search": {"model": "text-embedding-3-large"}}))
        reload = gw.wait_applied()
        assert reload["lastActions"] == ["restarting worker agent (memory.search.model)"]
        wait_for(lambda: (now := gw.children_by_title()).get("agent") not in (None, before["agent"]) and now, 10,
                 what="a new agent")
        n = caller.calls
        wait_for(lambda: caller.calls > n + 50, 10, what="calls after the replacement")
    finally:
        caller.finish()
    after = gw.children_by_title()
    assert after["agent"] != before["agent"]
    assert {k: v for k, v in after.items() if k != "agent"} == {k: v for k, v in before.items() if k != "agent"}
    assert caller.closed is None and caller.failures == [], caller.failures[:3]
    wait_for(lambda: not _alive(before["agent"]), 8, what="the replaced agent has retired")


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_channels_added_changed_removed_touch_only_their_worker(make_gateway, home: Home) -> None:
    gw = make_gateway()
    base = gw.children_by_title()
    assert not any(name.startswith("channel:") for name in base)  # no channel configured: no process

    home.write_config(config(home, channels={"telegram": {"botToken": "123:abc", "apiRoot": NO_TELEGRAM}, "discord": {"enabled": False}}))
    gw.wait_applied()
    one = wait_for(lambda: "channel:telegram" in (k := gw.children_by_title()) and k, 10, what="telegram worker")
    assert "channel:discord" not in one
    c = open_client(gw.url)
    try:
        st = c.call("channels.status")["payload"]
        assert st["channelOrder"] == ["telegram"] and st["channels"]["telegram"]["configured"] is True
        assert st["channels"]["telegram"]["linked"] is False

        home.write_config(config(home, channels={"telegram": {"botToken": "123:abcd", "apiRoot": NO_TELEGRAM}, "discord": {"enabled": True}}))
        reload = gw.wait_applied()
        assert set(reload["lastActions"]) == {
            "starting worker channel discord (channels.discord.enabled)",
            "restarting worker channel telegram (channels.telegram.botToken)",
        }, reload
        two = wait_for(lambda: (k := gw.children_by_title()).get("channel:telegram") != one["channel:telegram"]
                       and "channel:discord" in k and k, 10, what="telegram replaced, discord started")
        assert {two[n] for n in ("frontend", "agent", "node")} == {base[n] for n in ("frontend", "agent", "node")}

        home.write_config(config(home, channels={"discord": {}}))
        gw.wait_applied()
        three = wait_for(lambda: "channel:telegram" not in (k := gw.children_by_title()) and k, 10, what="telegram stopped")
        assert three["channel:discord"] == two["channel:discord"]
        wait_for(lambda: c.call("channels.status")["payload"]["channelOrder"] == ["discord"], 5, what="telegram gone")
    finally:
        c.close()


def test_port_change_moves_the_front_end_and_tells_clients(make_gateway, home: Home) -> None:
    old_port, new_port = free_port(), free_port()
    gw = make_gateway(args=[], config=home.default_config(port=old_port))
    workers = {k: v for k, v in gw.children_by_title().items() if k != "frontend"}
    c = open_client(gw.url)
    home.write_config(home.default_config(port=new_port))
    shutdown = c.next_event("shutdown", timeout=10)
    assert shutdown["payload"]["reason"] == "gateway restarting" and shutdown["payload"]["restartExpectedMs"] > 0
    with pytest.raises(ConnectionClosed):
        while True:
            c.recv(timeout=5)
    assert c.ws.close_code == 1012
    wait_for(lambda: port_open(new_port), 10, what="the new port")
    wait_for(lambda: not port_open(old_port), 5, what="the old port closed")
    gw.port = new_port
    assert gw.instance()["port"] == new_port  # CLIs find it there
    c2 = open_client(gw.url)
    assert c2.call("sessions.list")["ok"]
    c2.close()
    assert {k: v for k, v in gw.children_by_title().items() if k != "frontend"} == workers
    # the new front-end saw the running workers register (it was told they exist) and did not time out
    assert "not every running worker registered in time; serving anyway" not in home.log_messages()


def test_rotated_token_closes_old_connections_and_takes_the_new(make_gateway, home: Home) -> None:
    gw = make_gateway()
    c = open_client(gw.url)
    pids = gw.children_by_title()
    new_token = "rotated-token-0123456789abcdefghijklmn"
    cfg = home.default_config()
    cfg["gateway"]["auth"]["token"] = new_token
    home.write_config(cfg)
    with pytest.raises(ConnectionClosed):
        while True:
            c.recv(timeout=10)
    assert (c.ws.close_code, c.ws.close_reason) == (1008, "credentials rotated")
    assert gw.children_by_title() == pids  # hot: nothing restarted
    stale = Client(gw.url)
    assert stale.hello(token=TOKEN)["error"]["details"]["code"] == "AUTH_TOKEN_MISMATCH"
    fresh = open_client(gw.url, token=new_token)
    assert fresh.call("health")["ok"]
    fresh.close()


@pytest.mark.parametrize(
    "bad, where",
    [
        ('{\n  gateway: {\n    mode: "local",\n    port: 12x\n  }\n}\n', "line 4"),
        ('{"gateway": {"mode": "local", "port": "eighteen"}}', "gateway.port: expected int, got str"),
        ('{"gateway": {"mode": "local", "prot": 18789}}', "gateway.prot: unknown key"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "nested deeper than 64 levels"),
        ('{"gateway": {"mode": "remote"}}', "gateway.mode=local"),
    ],
    ids=["bad-json5", "wrong-type", "unknown-gateway-key", "deep-nesting", "start-rules"],
)
def test_invalid_edit_keeps_the_last_good_config(make_gateway, home: Home, bad: str, where: str) -> None:
    gw = make_gateway()
    good_hash = home.config_hash()
    pids = gw.children_by_title()
    c = open_client(gw.url)
    home.write_config(bad)

    def reported() -> dict[str, Any] | None:
        r = c.call("health")["payload"]["configReload"]
        return r if r["status"] == "error" else None

    r = wait_for(reported, 10, interval=0.05, what="the error reported")
    text = r["error"] + (f" (line {r['line']}, column {r['column']})" if r.get("line") else "")
    assert where in text, r
    assert r["lastGoodHash"] == good_hash and r["path"] == str(home.config_path)
    assert c.call("sessions.list")["ok"] and gw.children_by_title() == pids  # still serving, nothing restarted
    assert c.call("status")["payload"]["supervision"]["configReload"]["status"] == "error"
    assert gw.proc.poll() is None
    home.write_config(home.default_config(), by_rename=True)
    wait_for(lambda: c.call("health")["payload"]["configReload"]["status"] == "ok", 10, interval=0.05, what="error cleared")
    c.close()


def test_editor_rename_and_burst_of_writes_apply_once(make_gateway, home: Home) -> None:
    gw = make_gateway()
    cfg = config(home, agents={"defaults": {"id": "main"}})
    for i in range(5):  # an editor's save burst: five renames within ~50 ms
        cfg["agents"]["defaults"]["note"] = f"v{i}"
        home.write_config(cfg, by_rename=True)
        time.sleep(0.01)
    gw.wait_applied()
    detected = [m for m in home.log_messages() if m.startswith("config change detected")]
    assert 1 <= len(detected) <= 2, detected  # debounced, not five reloads


def seconds_since_boot() -> float:
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def started_since_boot(pid: int) -> float:
    """When a process started, on the /proc/uptime clock (psutil's create_time rounds boot time to 1 s)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: starttime in clock ticks


def test_reload_mode_off_ignores_and_sighup_applies(make_gateway, home: Home) -> None:
    import signal

    cfg = home.default_config()
    cfg["gateway"]["reload"] = {"mode": "off"}
    home.write_config(cfg)
    gw = make_gateway()
    cfg["channels"] = {"telegram": {"apiRoot": NO_TELEGRAM}}
    home.write_config(cfg)
    reload = gw.wait_applied()
    assert reload["hotReloadStatus"] == "disabled" and reload["pendingRestart"] == ["channels.telegram.apiRoot"]
    assert "channel:telegram" not in gw.children_by_title()
    asked_at = seconds_since_boot()
    gw.signal(signal.SIGHUP)  # the operator asks for it explicitly
    wait_for(lambda: "channel:telegram" in gw.children_by_title(), 10, what="SIGHUP applied the change")
    # the worker was started by the SIGHUP, not by the file write before it
    assert started_since_boot(gw.children_by_title()["channel:telegram"]) >= asked_at - 0.02


def test_reload_mode_hot_leaves_restart_changes_pending(make_gateway, home: Home) -> None:
    cfg = home.default_config(port=free_port())
    cfg["gateway"]["reload"] = {"mode": "hot"}
    home.write_config(cfg)
    gw = make_gateway(args=[])
    port = gw.port
    pids = gw.children_by_title()
    cfg["gateway"]["port"] = free_port()
    cfg["logging"]["level"] = "debug"
    home.write_config(cfg)
    reload = gw.wait_applied()
    assert reload["pendingRestart"] == ["gateway.port"]
    assert any(a.startswith("hot-applied (logging.level)") for a in reload["lastActions"])
    assert port_open(port) and gw.children_by_title() == pids


def test_reload_mode_restart_replaces_the_front_end_for_a_hot_key(make_gateway, home: Home) -> None:
    cfg = home.default_config()
    cfg["gateway"]["reload"] = {"mode": "restart"}
    home.write_config(cfg)
    gw = make_gateway()
    before = gw.children_by_title()
    c = open_client(gw.url)
    cfg["gateway"]["controlUi"] = {"enabled": False}
    home.write_config(cfg)
    assert c.next_event("shutdown", timeout=10)["payload"]["reason"] == "gateway restarting"
    c.close()
    after = wait_for(lambda: (k := gw.children_by_title()).get("frontend") not in (None, before["frontend"]) and k, 10,
                     what="a new front-end")
    assert after["agent"] == before["agent"] and after["node"] == before["node"]


def test_config_is_parsed_off_the_front_end_loop(make_gateway, home: Home) -> None:
    """A ~1.9 MB config: config.get answers quickly and other clients never stall behind it."""
    gw = make_gateway()
    cfg = config(home, meta={"blob": {f"k{i}": "x" * 80 for i in range(20000)}})
    home.write_config(cfg)
    gw.wait_applied(timeout=20)
    admin, other = open_client(gw.url), open_client(gw.url)
    try:
        worst = 0.0
        for _ in range(5):
            rid = admin.request("config.get")
            t0 = time.monotonic()
            assert other.call("health")["ok"]
            worst = max(worst, time.monotonic() - t0)
            res = admin.response(rid, timeout=20)
            assert res["ok"] and res["payload"]["valid"] is True
        assert worst < 0.5, f"health stalled {worst:.2f}s behind config.get"
    finally:
        admin.close()
        other.close()


def test_oversized_config_is_refused_with_its_size(make_gateway, home: Home) -> None:
    gw = make_gateway()
    home.write_config(json.dumps(config(home, meta={"blob": "x" * (2 * 1024 * 1024)})))
    c = open_client(gw.url)
    r = wait_for(lambda: (x := c.call("health")["payload"]["configReload"])["status"] == "error" and x, 10, what="error")
    assert "larger than 2097152 bytes" in r["error"]
    c.close()


def test_moving_to_a_busy_port_keeps_the_old_one_and_sighup_retries(make_gateway, home: Home) -> None:
    import signal
    import socket

    old_port = free_port()
    gw = make_gateway(args=[], config=home.default_config(port=old_port))
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    busy = squatter.getsockname()[1]
    try:
        home.write_config(home.default_config(port=busy))
        reload = gw.wait_applied()
        assert any(f"cannot listen on port {busy}" in a and f"still on port {old_port}" in a for a in reload["lastActions"]), reload
        assert reload["pendingRestart"] == ["gateway.port"]  # not forgotten
        c = open_client(gw.url)  # the old port still serves, the same connection
        assert c.call("sessions.list")["ok"]
        c.close()
        assert gw.instance()["port"] == old_port
    finally:
        squatter.close()
    gw.signal(signal.SIGHUP)  # the port is free now: apply what is pending
    wait_for(lambda: gw.instance()["port"] == busy, 10, what="moved to the freed port")
    gw.port = busy
    gw.wait_ready()
