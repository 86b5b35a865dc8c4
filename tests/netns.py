"""Two network namespaces joined by a veth pair, for tests that multicast (mDNS).

Multicast never touches the host's own interfaces: everything that sends it runs inside a namespace
made here (`ip netns exec <ns> …`), named uniquely per run, and deleted on the way out even when
the test fails. Needs root and iproute2; `available()` says why not otherwise.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


def available() -> str | None:
    """None if namespaces can be made here, else the reason."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass(frozen=True)
class Pair:
    a: str  # namespace names
    b: str
    addr_a: str  # the veth addresses (a /24 of their own)
    addr_b: str

    def cmd(self, ns: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def run_in(self, ns: str, fn: Callable[[], T]) -> T:
        """Call `fn` on a thread that has entered `ns` (setns is per thread): loopback of that namespace."""
        box: dict[str, Any] = {}

        def body() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
                try:
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), f"setns {ns}")
                finally:
                    os.close(fd)
                box["value"] = fn()
            except BaseException as exc:  # handed to the caller
                box["error"] = exc

        t = threading.Thread(target=body, daemon=True)
        t.start()
        t.join(30)
        if "error" in box:
            raise box["error"]
        return box["value"]


@contextmanager
def veth_pair() -> Iterator[Pair]:
    tag = f"{os.getpid() % 10000:04d}{secrets.token_hex(2)}"
    a, b = f"oct-{tag}-a", f"oct-{tag}-b"
    va, vb = f"oc{tag}a", f"oc{tag}b"  # interface names: at most 15 characters
    net = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}"
    pair = Pair(a, b, f"{net}.1", f"{net}.2")
    made: list[str] = []
    try:
        for ns in (a, b):
            _ip("netns", "add", ns)
            made.append(ns)
        _ip("link", "add", va, "type", "veth", "peer", "name", vb)
        _ip("link", "set", va, "netns", a)
        _ip("link", "set", vb, "netns", b)
        for ns, dev, addr in ((a, va, pair.addr_a), (b, vb, pair.addr_b)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        yield pair
    finally:
        subprocess.run(["ip", "link", "del", va], capture_output=True, timeout=10)  # only if it never moved
        for ns in made:  # the veth pair goes with them
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
