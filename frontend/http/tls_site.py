"""The listening sites of the front-end: plain, or TLS (`gateway.tls`) on the same parked sockets.

With TLS on, the one port speaks https and wss only (spec: "wss on the one port"); a plain-HTTP
client gets a failed handshake, not an answer. A TLS handshake must finish within
HEADERS_TIMEOUT_S (asyncio's default is 60 s): the request-head deadline of server.py only starts
once the handshake is done, so without this a silent client could hold a connection for a minute.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from aiohttp import web

from openclaw.ipc.config import ResolvedGateway
from openclaw.ipc.tls_material import server_context

from .server import HEADERS_TIMEOUT_S


class TlsSockSite(web.SockSite):
    """aiohttp's SockSite with a bounded TLS handshake."""

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            server, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog,
            ssl_handshake_timeout=HEADERS_TIMEOUT_S,
        )


def ssl_context_for(g: ResolvedGateway) -> ssl.SSLContext | None:
    if g.tls is None:
        return None
    return server_context(g.tls.cert_path, g.tls.key_path, g.tls.ca_path)


def make_site(runner: web.BaseRunner, sock: socket.socket, ctx: ssl.SSLContext | None) -> web.SockSite:
    if ctx is None:
        return web.SockSite(runner, sock, backlog=1024)
    return TlsSockSite(runner, sock, ssl_context=ctx, backlog=1024)
