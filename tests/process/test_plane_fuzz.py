"""S6 on the internal plane: Hypothesis-generated malformed multipart messages sent to every ZeroMQ
socket of a real gateway (the supervisor's control ROUTER, the front-end's workers ROUTER), from
raw DEALER, REQ and PUSH sockets, with fresh identities and with identities of live children.

Crash watcher: no process of the tree exits (same PIDs), no traceback or error in its output or
log, every refusal is logged once per peer, and afterwards a normal client still gets health,
status and a routed method answered."""

from __future__ import annotations

import time
from collections import Counter

import psutil
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..harness import Gateway
from ..plane_fuzz import frames, oversize
from ..wsclient import open_client

EXAMPLES = 2000  # x 18 sockets: ~36k messages, ~15 s alone
SOCKETS = ("control.sock", "workers.sock")
IDENTITIES = (None, b"fuzz.1", b"fuzz.2", b"\xff\xfe binary", b"frontend.1", b"agent.1", b"node.1")


class Peers:
    """Raw sockets on both internal endpoints: DEALERs under each identity, a REQ, a PUSH."""

    def __init__(self, run_dir: str) -> None:
        self.ctx = zmq.Context()
        self.socks: list[tuple[str, str, zmq.Socket]] = []
        for name in SOCKETS:
            url = f"ipc://{run_dir}/{name}"
            for ident in IDENTITIES:
                self._add(name, f"dealer {ident!r}", zmq.DEALER, url, ident)
            self._add(name, "req", zmq.REQ, url, None)
            self._add(name, "push", zmq.PUSH, url, None)
        self.sent: Counter[str] = Counter()
        self.refused_by_us = 0  # our queue full (the gateway reads slower than we write)

    def _add(self, name: str, label: str, kind: int, url: str, ident: bytes | None) -> None:
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 3000)  # what we sent reaches the gateway before the checks
        s.setsockopt(zmq.SNDHWM, 100_000)
        if ident is not None:
            s.setsockopt(zmq.IDENTITY, ident)
        if kind == zmq.REQ:
            s.setsockopt(zmq.REQ_RELAXED, 1)  # send again without waiting for answers that never come
        s.connect(url)
        self.socks.append((name, label, s))

    def send(self, index: int, message: list[bytes]) -> None:
        name, _label, s = self.socks[index % len(self.socks)]
        try:
            s.send_multipart(message, zmq.NOBLOCK)
            self.sent[name] += 1
        except zmq.Again:
            self.refused_by_us += 1

    def close(self) -> None:
        for _, _, s in self.socks:
            s.close()  # lingers: flushes
        self.ctx.term()


def alive(pids: dict[str, int]) -> bool:
    for pid in pids.values():
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            return False
    return True


def test_malformed_messages_on_every_internal_socket_crash_nothing(gateway: Gateway) -> None:
    t0 = time.monotonic()
    pids = {"supervisor": gateway.pid, **gateway.children_by_title()}
    run_dir = str(gateway.home.runtime_dir())
    peers = Peers(run_dir)
    try:
        for index in range(len(peers.socks)):  # frames over the size limit, on every socket type
            peers.send(index, [oversize()])

        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
            suppress_health_check=list(HealthCheck),
        )
        @given(index=st.integers(min_value=0, max_value=len(peers.socks) - 1), message=frames(list(pids.values())))
        def send_one(index: int, message: list[bytes]) -> None:
            for i in range(len(peers.socks)):  # the drawn socket first, then every other one
                peers.send(index + i, message)
            assert alive(pids), f"a gateway process exited after {message!r} (first sent on {peers.socks[index][:2]})"

        send_one()
    finally:
        peers.close()
    fuzz_s = time.monotonic() - t0

    c = open_client(gateway.url)  # the plane still works both ways: status asks the supervisor
    try:
        assert c.call("health")["ok"]
        status = c.call("status")
        assert status["ok"] and status["payload"]["supervision"]["generation"] == 0, status
        assert c.call("sessions.list")["ok"] and c.call("node.list")["ok"]  # routed to the workers
    finally:
        c.close()
    assert alive(pids) and {"supervisor": gateway.pid, **gateway.children_by_title()} == pids

    gateway.stop()  # the drop totals are logged as each socket closes
    assert gateway.proc is not None and gateway.proc.returncode == 0
    out = gateway.output()
    for bad in ("Traceback", "Fatal Python error", "never retrieved", "was destroyed but it is pending"):
        assert bad not in out, out[-3000:]
    records = gateway.home.log_records()
    errors = [r for r in records if r["_meta"]["logLevelName"] in ("ERROR", "FATAL")]
    assert errors == [], errors[:5]
    first = Counter(r["fields"]["socket"] for r in records if r["message"] == "dropped a malformed internal message")
    totals = {
        r["fields"]["socket"]: r["fields"]["dropped"]
        for r in records if r["message"] == "malformed internal messages dropped in total"
    }
    peers_per_socket = len(IDENTITIES) + 1 + 2  # + the REQ; the two anonymous ones get a new id when they reconnect
    assert set(totals) == set(SOCKETS), totals
    for name in SOCKETS:  # logged once per peer, however many messages it sent
        assert 0 < first[name] <= peers_per_socket < totals[name], (name, first, totals)
    print(f"\nfuzzed {sum(peers.sent.values())} messages in {fuzz_s:.1f}s {dict(peers.sent)}; "
          f"dropped {totals}; drop lines {dict(first)}; not queued {peers.refused_by_us}")

