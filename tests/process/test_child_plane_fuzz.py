"""S6 on the child side of the internal plane: a real worker and a real front-end process, run by a
fake supervisor (and, for the worker, a fake front-end) that this test plays on its own ipc://
sockets, get Hypothesis-generated malformed messages on every socket they connect (the supervisor
link, the worker's DEALER to the front-end) before and after they are configured. They keep
heartbeating, answer afterwards, log each refusal once per socket, and exit 0 on SIGTERM with no
traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from zmq.utils.monitor import recv_monitor_message

from openclaw.ipc import control, envelope
from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.errors import DECODE_ERRORS
from openclaw.ipc.version import IPC_VERSION

from ..harness import TOKEN, wait_for
from ..plane_fuzz import frames, oversize
from ..wsclient import open_client

EXAMPLES = 800
TIMEOUT_S = 10.0


class FakeSupervisor:
    """Binds control.sock (and workers.sock, playing the front-end) and runs one child under them."""

    def __init__(self, root: Path, with_workers: bool) -> None:
        self.root = root
        self.run = Path(tempfile.mkdtemp(prefix="oc-fuzz-"))  # short: ipc paths are limited to ~100 bytes
        self.ctx = zmq.Context()
        self.control = self._router("control.sock")
        self.workers = self._router("workers.sock") if with_workers else None
        self.log_file = root / "child.log"
        self.err_file = root / "child.err"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sent = 0

    def _router(self, name: str) -> zmq.Socket:
        s = self.ctx.socket(zmq.ROUTER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a send to a child that is gone raises: the crash watcher
        s.setsockopt(zmq.SNDHWM, 100_000)
        s.bind(f"ipc://{self.run / name}")
        return s

    def spawn(self, module: str, name: str, pass_fds: tuple[int, ...] = (), **env: str) -> None:
        full = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        full.update(
            OPENCLAW_CHILD_NAME=name, OPENCLAW_CHILD_INSTANCE=f"{name}.1", OPENCLAW_SUPERVISOR_PID=str(os.getpid()),
            OPENCLAW_CONTROL_URL=f"ipc://{self.run / 'control.sock'}", **env,
        )
        with open(self.err_file, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module], env=full, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                pass_fds=pass_fds, start_new_session=True,
            )

    def recv(self, sock: zmq.Socket, kind: type, decoder: msgspec.msgpack.Decoder, timeout: float = TIMEOUT_S) -> Any:
        """The next message of `kind` from the child (others are skipped)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not sock.poll(int(left * 1000)):
                break
            frames_ = sock.recv_multipart()
            try:
                msg = decoder.decode(frames_[-1])
            except DECODE_ERRORS:
                continue
            if isinstance(msg, kind):
                return msg
        raise TimeoutError(f"no {kind.__name__} from the child within {timeout}s:\n{self.stderr()[-2000:]}")

    def send(self, sock: zmq.Socket, identity: bytes, message: list[bytes]) -> None:
        try:
            sock.send_multipart([identity, *message], zmq.NOBLOCK)
            self.sent += 1
        except zmq.Again:
            pass  # the child reads slower than we write
        except zmq.ZMQError as exc:
            assert self.proc is not None and self.proc.poll() is None, f"the child exited: {self.stderr()[-2000:]}"
            raise AssertionError(f"the child is not connected: {exc}") from None

    def cut(self, sock: zmq.Socket, identity: bytes) -> None:
        """A frame over the child's size limit. libzmq treats it as a protocol error and drops the
        connection for good (no reconnect), so this comes last: the child must only not crash."""
        monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        try:
            self.send(sock, identity, [oversize()])
            assert monitor.poll(int(TIMEOUT_S * 1000)), "the child kept a connection that sent it an oversize frame"
            assert recv_monitor_message(monitor)["event"] == zmq.EVENT_DISCONNECTED
        finally:
            sock.disable_monitor()
            monitor.close(linger=0)

    def stderr(self) -> str:
        return self.err_file.read_text(errors="replace") if self.err_file.exists() else ""

    def log_records(self) -> list[dict[str, Any]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]

    def stop_child(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(TIMEOUT_S)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # ours, by PID
            self.proc.wait(5)
        for s in (self.control, self.workers):
            if s is not None:
                s.close(linger=0)
        self.ctx.term()
        shutil.rmtree(self.run, ignore_errors=True)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSupervisor]:
    holder: list[FakeSupervisor] = []

    def make(with_workers: bool) -> FakeSupervisor:
        holder.append(FakeSupervisor(tmp_path, with_workers))
        return holder[-1]

    yield make  # type: ignore[misc]
    for f in holder:
        f.close()


def configure(f: FakeSupervisor, port: int = 0) -> control.Configure:
    state = f.root / "state"
    state.mkdir(exist_ok=True)
    gateway = ResolvedGateway(
        profile=None, state_dir=str(state), config_path=str(state / "openclaw.json"), config_exists=True,
        config_hash="sha256:0", port=port, port_source="cli", bind_mode="loopback", bind_hosts=["127.0.0.1"],
        auth_mode="token", token=TOKEN, secret_source="config gateway.auth.token", log_file=str(f.log_file),
    )
    return control.Configure(
        gateway=gateway, config=b'{"gateway":{"mode":"local"}}', boot_id="fuzz", started_at_ms=int(time.time() * 1000),
        supervisor_pid=os.getpid(), runtime_dir=str(f.run),
    )


def for_a_child(message: list[bytes]) -> bool:
    """Not something a real supervisor might say (a valid Drain would rightly stop the child)."""
    if len(message) != 1:
        return True
    try:
        control.child_decoder.decode(message[0])
    except DECODE_ERRORS:
        return True
    return False


def fuzz(pids: list[int], send: Any) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(message=frames(pids))
    def one(message: list[bytes]) -> None:
        send(message)

    one()


def assert_clean_exit(f: FakeSupervisor, sockets: set[str]) -> None:
    assert f.stop_child() == 0, f.stderr()[-3000:]
    err = f.stderr()
    for bad in ("Traceback", "Fatal Python error", "never retrieved", "was destroyed but it is pending"):
        assert bad not in err, err[-3000:]
    records = f.log_records()
    assert [r for r in records if r["_meta"]["logLevelName"] in ("ERROR", "FATAL")] == []
    first = [r["fields"]["socket"] for r in records if r["message"] == "dropped a malformed internal message"]
    totals = {
        r["fields"]["socket"]: r["fields"]["dropped"]
        for r in records if r["message"] == "malformed internal messages dropped in total"
    }
    assert set(totals) == sockets and all(n > 100 for n in totals.values()), totals
    # once per socket (a child has one peer per socket); the log file opens at Configure, so a
    # refusal before it went to stderr instead
    assert all(first.count(s) <= 1 for s in sockets), first
    print(f"\nsent {f.sent} messages; dropped {totals}")


def test_a_worker_survives_junk_from_its_supervisor_and_its_front_end(fake) -> None:
    f: FakeSupervisor = fake(with_workers=True)
    assert f.workers is not None
    f.spawn("openclaw.workers.agent", "agent")
    hello = f.recv(f.control, control.ChildHello, control.supervisor_decoder)
    ident = hello.instance.encode()
    for _ in range(200):  # junk before it is configured
        f.send(f.control, ident, [b"\x93\x01\x02\x03", b"x"])
    f.send(f.control, ident, [control.encode(configure(f))])
    f.recv(f.workers, envelope.Register, envelope.frontend_decoder)

    def both(message: list[bytes]) -> None:
        f.send(f.workers, ident, message)  # everything, valid calls with odd params included
        if for_a_child(message):
            f.send(f.control, ident, message)
    fuzz([hello.pid, os.getpid(), 1], both)

    f.send(f.workers, ident, [envelope.encode(envelope.Registered())])
    f.recv(f.control, control.ChildReady, control.supervisor_decoder)
    f.recv(f.control, control.ChildHeartbeat, control.supervisor_decoder)
    caller = envelope.CallerInfo(conn_id="c", client_id="cli", client_mode="cli", role="operator", scopes=["operator.read"])
    call = envelope.Call(call_id=2**40, method="sessions.list", params=b"{}", deadline=time.monotonic() + 5, caller=caller)
    f.send(f.workers, ident, [envelope.encode(call)])
    deadline = time.monotonic() + TIMEOUT_S
    while (reply := f.recv(f.workers, envelope.Reply, envelope.frontend_decoder)).call_id != call.call_id:
        assert time.monotonic() < deadline
    assert reply.ok and b"sessions" in reply.payload, reply
    f.cut(f.workers, ident)
    f.cut(f.control, ident)
    assert_clean_exit(f, {"control.sock", "workers.sock"})


def test_a_front_end_survives_junk_from_its_supervisor(fake) -> None:
    f: FakeSupervisor = fake(with_workers=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        f.spawn("openclaw.frontend", "frontend", pass_fds=(listener.fileno(),), OPENCLAW_LISTEN_FDS=str(listener.fileno()))
    finally:
        listener.close()  # the child has its own copy
    hello = f.recv(f.control, control.ChildHello, control.supervisor_decoder)
    ident = hello.instance.encode()
    cfg = configure(f, port)
    f.send(f.control, ident, [control.encode(cfg)])
    me = control.ProcessInfo(name="frontend", role="frontend", kind="frontend", pid=hello.pid, state="running", restarts=0)
    reload = control.ReloadStatus(mode="hybrid", path=cfg.gateway.config_path)
    f.send(f.control, ident, [control.encode(control.TreeState(processes=[me], generation=0, reload=reload))])
    f.recv(f.control, control.ChildReady, control.supervisor_decoder)
    fuzz([hello.pid, os.getpid(), 1], lambda message: for_a_child(message) and f.send(f.control, ident, message))

    f.recv(f.control, control.ChildHeartbeat, control.supervisor_decoder)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        assert r.status == 200
    c = open_client(f"ws://127.0.0.1:{port}")
    try:
        assert c.call("health")["ok"]
    finally:
        c.close()
    f.cut(f.control, ident)
    assert_clean_exit(f, {"control.sock"})
