"""Crashing, refusing and hung children, injected with OPENCLAW_FAULTS, seen through the port:
the written-out crash policy (backoff, FATAL, retry), hang detection, and what callers get."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
import urllib.request
import json

import pytest

from ..harness import NO_TELEGRAM, OPENCLAW, Home, wait_for
from ..wsclient import open_client


def faulty(make_gateway, home: Home, faults: str, config: dict | None = None):
    gw = make_gateway(config=config or home.default_config(), env=home.env(OPENCLAW_FAULTS=faults), ready=False)
    return gw.wait_serving()


def readyz(gw) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.port}/readyz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def log_times(home: Home, child: str, message: str) -> list[float]:
    return [
        dt.datetime.fromisoformat(r["time"]).timestamp()
        for r in home.log_records()
        if r.get("message") == message and r.get("fields", {}).get("child") == child
    ]


def spawn_times(home: Home, child: str) -> list[float]:
    return log_times(home, child, "spawned")


def test_crash_loop_backs_off_then_goes_fatal_while_the_gateway_serves(make_gateway, home: Home) -> None:
    cfg = home.default_config()
    cfg["channels"] = {"crashy": {}}
    gw = faulty(make_gateway, home, "channel:crashy=exit-on-start", cfg)
    c = open_client(gw.url)
    try:
        health = wait_for(lambda: (h := c.call("health")["payload"])["workers"]["channel:crashy"]["state"] == "fatal" and h,
                          45, interval=0.2, what="channel:crashy FATAL")
        row = health["workers"]["channel:crashy"]
        assert row["lastExit"] == "code 1" and row["reason"].startswith("crash loop: 6 exits within 30s")
        assert health["ok"] is False and c.call("sessions.list")["ok"]  # the rest serves on
        status, body = readyz(gw)
        assert status == 503 and any(f.startswith("worker:channel:crashy fatal: crash loop") for f in body["failing"])
        assert gw.http_status("/healthz") == 200
        procs = {p["name"]: p for p in c.call("status")["payload"]["supervision"]["processes"]}
        assert procs["channel:crashy"]["state"] == "fatal" and procs["channel:crashy"]["pid"] is None
    finally:
        c.close()
    t = spawn_times(home, "channel:crashy")
    assert len(t) == 6, t  # then it is left alone
    exits = log_times(home, "channel:crashy", "exited unexpectedly")
    # the backoff runs from an exit to the next spawn (how long a start takes on a loaded machine is not ours)
    gaps = [spawn - exited for exited, spawn in zip(exits, t[1:])]
    for gap, expected in zip(gaps, [0.5, 1.0, 2.0, 4.0, 8.0]):  # backoff 0.5 s doubling, +-20 % jitter
        assert expected * 0.8 <= gap <= expected * 1.2 + 0.5, (gaps, exits, t)


def test_exit_78_is_fatal_at_once_and_a_config_fix_retries_it(make_gateway, home: Home) -> None:
    cfg = home.default_config()
    cfg["channels"] = {"telegram": {"botToken": " ", "apiRoot": NO_TELEGRAM}}  # the schema allows it; the channel worker refuses it
    gw = make_gateway(config=cfg, ready=False).wait_serving()
    c = open_client(gw.url)
    try:
        row = wait_for(lambda: (w := c.call("health")["payload"]["workers"]["channel:telegram"])["state"] == "fatal" and w,
                       15, what="FATAL")
        assert row["reason"].startswith("refused by its configuration (exit 78)") and "botToken" in row["lastExit"]
        assert len(spawn_times(home, "channel:telegram")) == 1  # never restarted in a loop
        cfg["channels"]["telegram"]["botToken"] = "123:abc"
        home.write_config(cfg)
        wait_for(lambda: c.call("health")["payload"]["workers"]["channel:telegram"]["state"] == "running", 15,
                 what="retried after the config fix")
    finally:
        c.close()


def test_gateway_restart_retries_a_fatal_child(make_gateway, home: Home) -> None:
    cfg = home.default_config()
    cfg["gateway"]["reload"] = {"mode": "off"}
    cfg["channels"] = {"telegram": {"botToken": " ", "apiRoot": NO_TELEGRAM}}
    gw = make_gateway(config=cfg, ready=False).wait_serving()
    c = open_client(gw.url)
    wait_for(lambda: c.call("health")["payload"]["workers"]["channel:telegram"]["state"] == "fatal", 15, what="FATAL")
    cfg["channels"]["telegram"]["botToken"] = "123:abc"
    home.write_config(cfg)  # not applied: reload mode off
    assert c.call("gateway.restart")["ok"]
    c.close()
    gw.wait_ready()
    assert "channel:telegram" in gw.children_by_title()


def test_hung_worker_is_detected_and_its_caller_answered_within_a_second(make_gateway, home: Home) -> None:
    gw = faulty(make_gateway, home, "node=hang-after:2")
    old = gw.children_by_title()["node"]
    c = open_client(gw.url)
    try:
        assert c.call("node.list")["ok"]  # the first call is fine
        t0 = time.monotonic()
        res = c.call("node.list")  # this one wedges the worker's loop
        waited = time.monotonic() - t0
        assert res["ok"] is False and res["error"]["code"] == "UNAVAILABLE" and res["error"]["retryable"] is True
        assert res["error"]["details"]["reason"] == "worker-lost" and res["error"]["details"]["cause"] == "hung"
        assert waited < 2.0, waited  # detection is ~0.8 s (3 missed 250 ms heartbeats); ops/chaos measures it
        assert c.call("sessions.list")["ok"]  # other workers: no error
        wait_for(lambda: gw.children_by_title().get("node") not in (None, old), 10, what="node replaced")
    finally:
        c.close()
    assert any("Fatal Python error: Aborted" in line for line in gw.output().splitlines())  # SIGABRT traceback


def test_sigstopped_worker_is_replaced_and_callers_only_ever_told_to_retry(gateway) -> None:
    old = gateway.children_by_title()["agent"]
    c = open_client(gateway.url)
    errors: list[dict] = []
    try:
        os.kill(old, signal.SIGSTOP)
        res = c.call("sessions.list")
        assert res["ok"] is False and res["error"]["details"]["reason"] == "worker-lost", res

        def answered_again() -> bool:  # keep calling through detection, kill and replacement
            r = c.call("sessions.list")
            if not r["ok"]:
                errors.append(r["error"])
            return r["ok"]

        wait_for(answered_again, 15, interval=0.01, what="agent answers again")
        assert gateway.children_by_title().get("agent") not in (None, old)
    finally:
        c.close()
    bad = [e for e in errors if e["code"] != "UNAVAILABLE" or e.get("retryable") is not True]
    assert bad == [], bad[:3]  # never "unknown method" while the agent is being replaced


def test_worker_dying_mid_call_answers_its_caller(make_gateway, home: Home) -> None:
    gw = faulty(make_gateway, home, "agent=exit-after:2")
    c = open_client(gw.url)
    try:
        assert c.call("sessions.list")["ok"]
        res = c.call("sessions.list")
        assert res["error"]["code"] == "UNAVAILABLE" and res["error"]["details"]["cause"] == "exited", res
        assert c.call("node.list")["ok"]
    finally:
        c.close()


def test_a_worker_ignoring_sigterm_does_not_hold_the_stop(make_gateway, home: Home) -> None:
    gw = faulty(make_gateway, home, "node=ignore-term")
    kids = [k.pid for k in gw.track()]
    t0 = time.monotonic()
    gw.signal(signal.SIGTERM)
    assert gw.wait_exit(15) == 0
    assert time.monotonic() - t0 < 6.0  # TERM, 3 s grace, KILL
    wait_for(lambda: not gw.alive_known(), 3, what="no process left")
    assert all(not os.path.exists(f"/proc/{p}") or open(f"/proc/{p}/stat").read().split()[2] == "Z" for p in kids)


def test_front_end_failing_to_boot_ends_the_gateway_with_its_error(home: Home) -> None:
    home.write_config(home.default_config())
    t0 = time.monotonic()
    proc = subprocess.run(
        [OPENCLAW, "gateway", "--port", "0"], env=home.env(OPENCLAW_FAULTS="frontend=exit-on-start"),
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc
    assert "the front-end failed to start" in proc.stderr and "exit-on-start" in proc.stderr
    assert time.monotonic() - t0 < 10  # no restart loop
    assert not (home.state_dir / "gateway.instance.json").exists()


@pytest.mark.parametrize(
    "spec, message", [("agent=explode", "unknown fault 'explode'"), ("nobody=exit-on-start", "unknown target 'nobody'")]
)
def test_bad_fault_spec_is_refused_at_start(home: Home, spec: str, message: str) -> None:
    home.write_config(home.default_config())
    proc = subprocess.run(
        [OPENCLAW, "gateway", "--port", "0"], env=home.env(OPENCLAW_FAULTS=spec),
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 78 and message in proc.stderr


def test_slow_ready_front_end_still_starts(make_gateway, home: Home) -> None:
    t0 = time.monotonic()
    gw = make_gateway(env=home.env(OPENCLAW_FAULTS="frontend=slow-ready:1500"))
    assert time.monotonic() - t0 >= 1.5
    c = open_client(gw.url)
    assert c.call("sessions.list")["ok"]
    c.close()


def test_a_handler_failure_is_an_error_frame_not_a_closed_connection(make_gateway, home: Home) -> None:
    cfg = home.default_config()
    log_dir = home.root / "a-directory"
    log_dir.mkdir()
    cfg["logging"]["file"] = str(log_dir)
    gw = make_gateway(config=cfg)
    c = open_client(gw.url)
    try:
        err = c.call("logs.tail")["error"]
        assert err["code"] == "UNAVAILABLE" and err["retryable"] is True, err
        assert c.call("health")["ok"]  # the same connection goes on
    finally:
        c.close()


@pytest.mark.parametrize("frames", [3, 1])
def test_malformed_internal_messages_are_dropped_not_fatal(gateway, frames: int) -> None:
    """Garbage on the workers socket (a local process writing junk) is logged and dropped."""
    import zmq

    run_dir = gateway.home.runtime_dir()
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.IDENTITY, b"junk.1")
    s.connect(f"ipc://{run_dir / 'workers.sock'}")
    s.send_multipart([b"\xc1garbage"] * frames)
    s.close()
    ctx.term()
    c = open_client(gateway.url)
    assert c.call("sessions.list")["ok"] and c.call("health")["ok"]
    c.close()
