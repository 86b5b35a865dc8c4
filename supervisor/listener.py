"""Binds the public port once, in the supervisor, so front-end restarts never drop it.

The sockets are not inheritable: the spawner passes them to the front-end alone. Between
spawns the supervisor keeps them *parked* (ListenerStore): in flight on a private socketpair
(SCM_RIGHTS), not in its fd table. The kernel keeps them listening and queueing connections,
while `lsof`/`ss` (what `openclaw status` checks) see one gateway process on the port: the
front-end.
A busy port is retried for a bounded time, then reported with who holds it and the exact way to
stop that holder (ipc/port_owners.py: the systemctl command for a service, `openclaw [--profile X]
gateway stop` or Ctrl-C for a gateway of ours, the pid and command of anything else);
`--force` stops that holder first: a gateway of ours through its supervisor (a clean stop,
so nothing restarts it), anything else with TERM, a bounded wait, then KILL.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from openclaw.ipc.errors import StartFailure
from openclaw.ipc.logs import get_logger
from openclaw.ipc.port_owners import port_owners, stop_hint
from openclaw.ipc.ports import port_holders

log = get_logger("gateway/listener")
BACKLOG = 1024


def _bind_one(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
        sock.set_inheritable(False)
        return sock
    except BaseException:
        sock.close()
        raise


def bind_all(hosts: list[str], port: int) -> list[socket.socket]:
    """Bind every host on the same port; port 0 picks one free port for all."""
    socks: list[socket.socket] = []
    try:
        for host in hosts:
            s = _bind_one(host, port)
            socks.append(s)
            if port == 0:
                port = s.getsockname()[1]
        return socks
    except BaseException:
        for s in socks:
            s.close()
        raise


class ListenerStore:
    """The public listening sockets, kept open without being held in the supervisor's fd table."""

    def __init__(self, socks: list[socket.socket]) -> None:
        self.port = socks[0].getsockname()[1]
        self.hosts = [s.getsockname()[0] for s in socks]
        self._count = len(socks)
        self._keep, self._peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._peer.setblocking(False)  # taking what is not parked is a bug: fail, never hang
        self._park(socks)

    def _park(self, socks: list[socket.socket]) -> None:
        socket.send_fds(self._keep, [b"L"], [s.fileno() for s in socks])
        for s in socks:
            s.close()

    def _take(self) -> list[socket.socket]:
        _msg, fds, _flags, _addr = socket.recv_fds(self._peer, 1, self._count)
        out = []
        for fd in fds:
            os.set_inheritable(fd, False)
            out.append(socket.socket(fileno=fd))
        return out

    @contextmanager
    def lent(self) -> Iterator[list[int]]:
        """The sockets' fds for the length of a spawn; parked again afterwards."""
        socks = self._take()
        try:
            yield [s.fileno() for s in socks]
        finally:
            self._park(socks)

    def close(self) -> None:
        if self._keep.fileno() < 0:
            return
        try:
            for s in self._take():
                s.close()
        except OSError:
            pass
        self._keep.close()
        self._peer.close()


GATEWAY_TITLE = "openclaw-gateway:"


def _title(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline()).strip()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def _owner(pid: int) -> int:
    """The process to stop for a listener: for a gateway of ours, its supervisor."""
    try:
        proc = psutil.Process(pid)
        while _title(proc).startswith(GATEWAY_TITLE):
            parent = proc.parent()
            if parent is None or not _title(parent).startswith(GATEWAY_TITLE):
                break
            proc = parent
        return proc.pid
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return pid


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_holders(port: int, wait_s: float = 10.0) -> list[int]:
    """`--force`: stop whoever listens on the port (TERM, wait, KILL). Returns the PIDs stopped."""
    me = os.getpid()
    pids = sorted({_owner(h.pid) for h in port_holders(port) if h.pid and h.pid != me} - {me})
    for pid in pids:
        log.warn("--force: stopping listener on port", pid=pid, port=port)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            log.warn("--force: listener ignored SIGTERM; killing it", pid=pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # the port is free once every holder's sockets are closed (a killed supervisor's children follow it)
    deadline = time.monotonic() + 5.0
    while port_holders(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def describe_busy(port: int, url_host: str, home: Path | None = None) -> str:
    """Who holds the port and the exact way to stop each holder (ipc/port_owners.py)."""
    lines = [
        f"Gateway failed to start: port {port} is already in use (ws://{url_host}:{port}, EADDRINUSE).",
    ]
    owners = port_owners(port, home or Path.home(), exclude_pid=os.getpid())
    if owners:
        lines.append(f"Port {port} is already in use by:")
        for o in owners:
            who = f"pid {o.pid}" if o.pid else "an unknown process"
            lines.append(f"- {who} {o.user or ''}: {o.command} ({', '.join(o.addresses)})".replace("  ", " "))
            lines.append(f"  {stop_hint(o, home or Path.home())}")
    else:
        lines.append(f"Port {port} is already in use (holder not visible to this user).")
    if any(o.kind == "gateway-service" for o in owners):
        lines.append("Or choose another --port (--force would fight the service manager, which restarts its gateway).")
    else:
        lines.append("Or pass --force to stop the listener (a gateway cleanly, anything else TERM then KILL), "
                     "or choose another --port.")
    return "\n".join(lines)


def bind_with_retry(
    hosts: list[str], port: int, *, force: bool, retry_s: float, home: Path | None = None
) -> list[socket.socket]:
    """Bind, retrying a busy port for `retry_s`; then StartFailure naming the holders (looked up in
    the registry of `home`) and how to stop each."""
    if force and port:
        stop_holders(port)
    deadline = time.monotonic() + retry_s
    while True:
        try:
            return bind_all(hosts, port)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise StartFailure(f"Cannot bind {hosts} port {port}: address not available on this host.") from exc
            if exc.errno == errno.EACCES:
                raise StartFailure(f"Cannot bind port {port}: permission denied.") from exc
            if exc.errno != errno.EADDRINUSE:
                raise StartFailure(f"Cannot bind {hosts} port {port}: {exc.strerror}") from exc
            if time.monotonic() >= deadline:
                host = hosts[0] if ":" not in hosts[0] else f"[{hosts[0]}]"
                raise StartFailure(describe_busy(port, host, home)) from exc
            time.sleep(0.25)
