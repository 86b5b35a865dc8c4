"""The internal ZeroMQ plane of a real gateway, as a local process that connects to its sockets sees
it: well-formed messages from the wrong peer are refused (counted and logged once per peer), and
the runtime dir keeps other users out (S8)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import zmq

from openclaw.ipc import control, envelope
from openclaw.ipc.version import IPC_VERSION

from ..harness import Gateway, Home, wait_for
from ..wsclient import open_client


@contextmanager
def raw_peer(gw: Gateway, sock: str, identity: bytes) -> Iterator[zmq.Socket]:
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.IDENTITY, identity)
    s.connect(f"ipc://{gw.home.runtime_dir() / sock}")
    try:
        yield s
    finally:
        s.close(linger=0)
        ctx.term()


def refusals(gw: Gateway) -> list[dict]:
    return [r.get("fields", {}) for r in gw.home.log_records() if r.get("message") == "dropped a malformed internal message"]


def test_only_the_front_end_asks_and_children_speak_only_for_themselves(gateway: Gateway) -> None:
    pids = gateway.children_by_title()
    with raw_peer(gateway, "control.sock", b"intruder.1") as s:
        s.send(control.encode(control.RestartRequest(query_id=1, reason="not yours")))
        s.send(control.encode(control.ChildBootFailed(instance="agent.1", reason="lies")))
        s.send(control.encode(control.StatusQuery(query_id=2)))
        wait_for(lambda: any(r["peer"] == "intruder.1" for r in refusals(gateway)), 5, what="the refusal logged")
        assert s.poll(300) == 0  # no answer to a peer that is not the front-end
    [line] = [r for r in refusals(gateway) if r["peer"] == "intruder.1"]  # one line for three messages
    assert "RestartRequest from a peer that is not the front-end" in line["reason"]
    c = open_client(gateway.url)
    assert c.call("status")["payload"]["supervision"]["generation"] == 0  # no restart happened
    assert gateway.children_by_title() == pids and c.call("health")["ok"]
    c.close()


def test_a_local_process_cannot_register_as_a_worker(gateway: Gateway) -> None:
    pids = gateway.children_by_title()
    cases = {  # identity -> (slot, pid): a worker's pid, the front-end's, one not of the gateway, a wrong slot
        b"agent.99": ("agent", pids["agent"]),
        b"extra.1": ("extra", pids["frontend"]),
        b"other.1": ("other", os.getpid()),
        b"slot.1": ("agent", pids["node"]),
    }
    expected = {
        "agent.99": f"pid {pids['agent']} is registered as 'agent.1'",
        "extra.1": f"pid {pids['frontend']} is not a worker of this gateway",
        "other.1": f"pid {os.getpid()} is not a worker of this gateway",
        "slot.1": "slot 'agent' does not match instance 'slot.1'",
    }
    for identity, (slot, pid) in cases.items():
        with raw_peer(gateway, "workers.sock", identity) as s:
            s.send(envelope.encode(envelope.Register(
                slot=slot, instance=identity.decode(), pid=pid, methods=["sessions.list", "extra.method"], events=[],
                ipc_version=IPC_VERSION,
            )))
            wait_for(lambda: any(r["peer"] == identity.decode() for r in refusals(gateway)), 5, what="the refusal")
            assert s.poll(100) == 0  # never registered: no Registered, no Call
    got = {r["peer"]: r["reason"].removeprefix("registration refused: ") for r in refusals(gateway)}
    assert got == expected
    c = open_client(gateway.url)
    assert c.call("sessions.list")["ok"]
    assert c.call("extra.method")["error"]["message"] == "unknown method: extra.method"
    c.close()


def test_a_local_process_cannot_answer_calls_sent_to_a_worker(make_gateway, home: Home) -> None:
    """The node worker hangs on its first call; meanwhile a forged Reply for every early call id
    arrives from another peer. The client gets the real outcome (worker lost), never the forgery."""
    gw = make_gateway(env=home.env(OPENCLAW_FAULTS="node=hang-after:1"))
    c = open_client(gw.url)
    rid = c.request("node.list")
    wait_for(lambda: "fault injected: hang-after:1" in gw.output(), 5, what="the node worker hung")
    with raw_peer(gw, "workers.sock", b"forger.1") as s:
        for call_id in range(1, 100):
            s.send(envelope.encode(envelope.Reply(call_id=call_id, ok=True, payload=b'{"forged":true}')))
        res = c.response(rid)
    c.close()
    assert not res["ok"] and res["error"]["details"]["reason"] == "worker-lost", res
    assert "reply to call" in next(r for r in refusals(gw) if r["peer"] == "forger.1")["reason"]


def test_runtime_dir_is_private_and_only_the_gateway_port_listens(gateway: Gateway) -> None:
    run = gateway.home.runtime_dir()
    assert stat.S_IMODE(run.stat().st_mode) == 0o700 and run.stat().st_uid == os.getuid()
    socks = sorted(p.name for p in run.iterdir())
    assert socks == ["control.sock", "workers.sock"]
    for p in run.iterdir():
        mode = stat.S_IMODE(p.stat().st_mode)
        assert stat.S_ISSOCK(p.stat().st_mode) and mode & 0o077 == 0, (p, oct(mode))
    tree = [psutil.Process(gateway.pid), *gateway.track()]
    listening = {
        (c.laddr.ip, c.laddr.port) for p in tree for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    }
    assert {port for _, port in listening} == {gateway.port}, listening
    assert {ip for ip, _ in listening} <= {"127.0.0.1", "::1"}, listening
    assert all(c.raddr == () or c.raddr.ip in ("127.0.0.1", "::1") for p in tree for c in p.net_connections(kind="inet"))
    gateway.stop()
    assert not run.exists()  # nothing left behind (it may be under /tmp)


def test_a_runtime_dir_swapped_for_a_symlink_refuses_the_start(home: Home, tmp_path: Path) -> None:
    home.write_config(home.default_config())
    (tmp_path / "elsewhere").mkdir()
    run = home.runtime_dir()  # may be under /tmp when the state dir's path is long: removed below
    run.parent.mkdir(parents=True, exist_ok=True)
    run.symlink_to(tmp_path / "elsewhere")
    try:
        r = home.cli("gateway", "--port", "0", timeout=30)
    finally:
        run.unlink()
    assert r.returncode == 78, (r.returncode, r.stdout, r.stderr)
    assert "runtime dir" in r.stderr and "not a directory" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []  # no socket was put there
