"""Binds the public port once, in the supervisor, so front-end restarts never drop it.

A busy port is retried for a bounded time, then reported with who holds it;
`--force` stops that holder first (TERM, bounded wait, KILL).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import time

import psutil

from openclaw.ipc.errors import StartFailure
from openclaw.ipc.ports import port_holders
from openclaw.ipc.logs import get_logger

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
        sock.set_inheritable(True)
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


def stop_holders(port: int, wait_s: float = 5.0) -> list[int]:
    """`--force`: TERM whoever listens on the port, wait, then KILL. Returns the PIDs stopped."""
    me = os.getpid()
    pids = sorted({h.pid for h in port_holders(port) if h.pid and h.pid != me})
    for pid in pids:
        log.warn("--force: stopping listener on port", pid=pid, port=port)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait_s
    while pids and time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
            break
        time.sleep(0.05)
    for pid in pids:
        try:
            if psutil.pid_exists(pid):
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # wait until the port is really free (the killed process's sockets close on exit)
    deadline = time.monotonic() + wait_s
    while port_holders(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def describe_busy(port: int, url_host: str) -> str:
    lines = [
        f"Gateway failed to start: port {port} is already in use (ws://{url_host}:{port}, EADDRINUSE).",
    ]
    holders = port_holders(port)
    if holders:
        lines.append(f"Port {port} is already in use by:")
        for h in holders:
            who = f"pid {h.pid}" if h.pid else "an unknown process"
            lines.append(f"- {who} {h.user or ''}: {h.command} ({h.address}) {h.cmdline}".rstrip())
    else:
        lines.append(f"Port {port} is already in use (holder not visible to this user).")
    lines.append(
        "If it is another gateway, stop it (openclaw gateway stop, or Ctrl-C in its terminal); "
        "or pass --force to stop the listener, or choose another --port."
    )
    return "\n".join(lines)


def bind_with_retry(hosts: list[str], port: int, *, force: bool, retry_s: float) -> list[socket.socket]:
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
                raise StartFailure(describe_busy(port, host)) from exc
            time.sleep(0.25)
