"""The canvas host process: binds the canvas port on the gateway's hosts, serves the canvas root,
and follows config changes in place (a new root at once; a new port or bind: it rebinds).

Supervised like a worker (workers/runtime.py: Hello, heartbeats, Ready once it listens), but
optional: a crash is restarted with backoff and never takes the gateway down, and while it is
down /readyz stays 200 and `health` names it degraded. It registers no methods; its health
fragment (`health.canvasHost`) says where it listens, which matters when the port is ephemeral.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from pathlib import Path
from typing import Any

from aiohttp import web
from openclaw.ipc import canvas_config
from openclaw.ipc.control import Configure
from openclaw.ipc.errors import ConfigRefusal
from openclaw.workers.runtime import Worker

from . import host_guard
from .connections import CanvasRunner
from .server import make_app

BACKLOG = 128


def _bind(hosts: list[str], port: int) -> list[socket.socket]:
    """Every host on one port (0: one free port for all). OSError names the address."""
    socks: list[socket.socket] = []
    try:
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
                raise OSError(exc.errno, f"canvas host address {where} {why}; set canvasHost.port "
                              "(or OPENCLAW_CANVAS_HOST_PORT), or canvasHost.enabled=false") from None
            sock.listen(BACKLOG)
            sock.setblocking(False)
            port = port or sock.getsockname()[1]
        return socks
    except BaseException:
        for s in socks:
            s.close()
        raise


class CanvasHost(Worker):
    kind = "canvas"

    def __init__(self, cfg: Configure) -> None:
        super().__init__(cfg)
        self.root = self._root()
        # The jail is the root's real path as of start (or the last canvasHost change), not as of each
        # request: a root later swapped for a symlink (to /, say) does not widen what is served.
        self.real_root = os.path.realpath(self.root)
        self.runner: web.AppRunner | None = None
        self.sites: list[web.SockSite] = []
        self.port = 0
        self.hosts: list[str] = []
        self.asked: tuple[int | None, tuple[str, ...]] = (None, ())  # (canvas_port, bind hosts) last bound for
        self.last_error: str | None = None
        self._rebinding: asyncio.Task[None] | None = None

    def title(self) -> str:
        return "openclaw-gateway: canvas"

    def _root(self) -> Path:
        root = canvas_config.root(self.config, self.gateway.state_dir)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigRefusal(f"canvasHost.root {root} cannot be created: {exc.strerror or exc}") from None
        if not root.is_dir():
            raise ConfigRefusal(f"canvasHost.root {root} is not a directory")
        return root

    async def start(self) -> None:
        if self.gateway.canvas_port is None:
            raise ConfigRefusal("the canvas host is turned off (canvasHost.enabled=false or OPENCLAW_SKIP_CANVAS_HOST)")
        self.runner = CanvasRunner(make_app(lambda: self.real_root, self._host_ok), access_log=None, handle_signals=False)
        await self.runner.setup()
        await self._listen()

    def _host_ok(self, header: str | None) -> bool:
        if not host_guard.loopback_only(self.hosts):
            return True
        return host_guard.admits(header, host_guard.allowed_hosts(canvas_config.section(self.config)))

    async def _listen(self) -> None:
        assert self.runner is not None and self.gateway.canvas_port is not None
        socks = _bind(self.gateway.bind_hosts, self.gateway.canvas_port)
        self.sites = [web.SockSite(self.runner, s, backlog=BACKLOG) for s in socks]
        for site in self.sites:
            await site.start()
        self.port = socks[0].getsockname()[1]
        self.hosts = [s.getsockname()[0] for s in socks]
        self.asked = (self.gateway.canvas_port, tuple(self.gateway.bind_hosts))
        self.log.info("canvas host listening", port=self.port, hosts=self.hosts, root=str(self.root))

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def apply_config(self, config: dict[str, Any], paths: list[str]) -> None:
        self.config = config
        try:
            root = self._root()
        except ConfigRefusal as exc:
            self.last_error = str(exc)
            self.log.error("canvas root not changed", error=str(exc))
        else:
            real = os.path.realpath(root)
            if root != self.root or real != self.real_root:
                self.log.info("canvas root changed", root=str(root), was=str(self.root), real=real)
                self.root, self.real_root, self.last_error = root, real, None
        if (self.gateway.canvas_port, tuple(self.gateway.bind_hosts)) != self.asked and self._rebinding is None:
            self._rebinding = asyncio.get_running_loop().create_task(self._rebind())

    async def _rebind(self) -> None:
        """A new port or bind: close the old listeners, bind the new; if that fails, exit 1 and be
        restarted with backoff from the current config (the supervisor names the reason)."""
        try:
            old, self.sites = self.sites, []
            for site in old:
                await site.stop()
            if self.gateway.canvas_port is None:
                self.crash("the canvas host was turned off")
                return
            try:
                await self._listen()
            except OSError as exc:
                self.crash(exc.strerror or str(exc))
                return
            self.publish_health()
        finally:
            self._rebinding = None

    def health_fragment(self) -> dict[str, Any]:
        url_host = "127.0.0.1" if "127.0.0.1" in self.hosts or "0.0.0.0" in self.hosts else (self.hosts or ["127.0.0.1"])[0]
        shown = f"[{url_host}]" if ":" in url_host else url_host
        return {
            "canvasHost": {
                "enabled": True, "port": self.port, "hosts": self.hosts, "root": str(self.root),
                "url": f"http://{shown}:{self.port}{canvas_config.PREFIX}", "lastError": self.last_error,
            }
        }
