"""ZeroMQ socket factories with the project's hygiene: linger 0, bounded HWMs, ipc:// only."""

from __future__ import annotations

import os
from pathlib import Path

import zmq
import zmq.asyncio

HWM = 10000


def endpoint(runtime_dir: str | Path, name: str) -> str:
    return f"ipc://{Path(runtime_dir) / name}"


def prepare_runtime_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def _common(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, HWM)
    sock.setsockopt(zmq.RCVHWM, HWM)


def bind_router(ctx: zmq.asyncio.Context, url: str) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.ROUTER)
    _common(sock)
    # A restarted peer reconnects with the same identity: let it take over the route.
    sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
    # Sends to a peer that is gone fail loudly instead of vanishing.
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    if url.startswith("ipc://"):
        path = Path(url[len("ipc://"):])
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    sock.bind(url)
    if url.startswith("ipc://"):
        os.chmod(url[len("ipc://"):], 0o600)
    return sock


def connect_dealer(ctx: zmq.asyncio.Context, url: str, identity: str) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.DEALER)
    _common(sock)
    sock.setsockopt(zmq.IDENTITY, identity.encode())
    sock.setsockopt(zmq.RECONNECT_IVL, 50)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
    sock.connect(url)
    return sock
