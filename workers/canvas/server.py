"""The canvas host's HTTP answers: GET/HEAD of files under the root at /__openclaw__/canvas/,
with the gateway's security headers (protocol.md §5), ETag/Last-Modified, single byte ranges
(206, 416), `index.html` for a directory, and text 404/405 for everything else. No listings."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from email.utils import formatdate

from aiohttp import web

from . import files
from .connections import SECURITY_HEADERS

CHUNK = 256 * 1024
ALLOW = "GET, HEAD"


def _text(status: int, body: str, **headers: str) -> web.Response:
    return web.Response(
        status=status, text=body + "\n", content_type="text/plain", charset="utf-8",
        headers={"Cache-Control": "no-store", **SECURITY_HEADERS, **headers},
    )


def not_found() -> web.Response:
    return _text(404, "Not Found")


def _redirect(location: str) -> web.Response:
    return web.Response(status=301, headers={"Location": location, "Cache-Control": "no-store", **SECURITY_HEADERS})


def make_app(root_of: Callable[[], str], host_ok: Callable[[str | None], bool] = lambda _h: True) -> web.Application:
    """`root_of()` is the canvas root's real path now (it may change with the config); `host_ok(Host)`
    is the DNS-rebinding guard (host_guard.py)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if not host_ok(request.headers.get("Host")):
            return _text(421, "Misdirected Request: this canvas host answers only to localhost names "
                              "(canvasHost.allowedHosts lists others)")
        if request.method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed", Allow=ALLOW)
        raw = request.raw_path
        path_only = raw.split("?", 1)[0]
        if path_only == files.MOUNT:
            return _redirect(files.PREFIX + raw[len(path_only):])
        target = files.parse_path(raw)
        if target is None:
            return not_found()
        root = root_of()
        real = files.locate(root, target)
        if real is None:
            return not_found()  # a symlink out of the root: as if it were not there
        if os.path.isdir(real):
            if not target.directory:
                return _redirect(path_only + "/" + raw[len(path_only):])
            real = files.locate(root, files.Target((*target.segments, files.INDEX), False)) or ""
        elif target.directory:
            return not_found()  # `name/` names a directory; a file is not one
        opened = files.open_file(root, real) if real else None
        if opened is None:
            return not_found()
        try:
            return await _send(request, opened)
        finally:
            opened.close()

    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def _send(request: web.Request, opened: files.Opened) -> web.StreamResponse:
    st = opened.stat
    size = st.st_size
    etag = f'"{st.st_mtime_ns:x}-{size:x}"'
    headers = {
        "Content-Type": files.content_type(opened.name),
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": formatdate(st.st_mtime, usegmt=True),
        "Cache-Control": "no-cache",
        **SECURITY_HEADERS,
    }
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return web.Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    wanted = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() not in (etag, headers["Last-Modified"]):
        wanted = None  # the file changed since the client's copy: send all of it
    try:
        span = files.parse_range(wanted, size)
    except files.Unsatisfiable:
        return _text(416, "Range Not Satisfiable", **{"Content-Range": f"bytes */{size}"})
    status, first, last = (200, 0, size - 1) if span is None else (206, *span)
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = last - first + 1
    await resp.prepare(request)
    if request.method == "GET":
        loop = asyncio.get_running_loop()
        offset = first
        while offset <= last:  # read off the event loop: a slow disk must not stop the heartbeats
            chunk = await loop.run_in_executor(None, os.pread, opened.fd, min(CHUNK, last - offset + 1), offset)
            if not chunk:
                break  # the file shrank meanwhile; the client sees a short body
            await resp.write(chunk)
            offset += len(chunk)
    await resp.write_eof()
    return resp
