"""The bounded load: N WebSocket clients sending requests at a fixed rate each (open loop: a
slow answer never slows the sender), and an HTTP prober on /readyz and /healthz.

A client whose connection the server closes (1012 on a restart) counts a disconnect by code and
reconnects after a short delay; requests in flight at that moment are "lost to close". When the
load stops, clients stop sending, wait (bounded) for the answers still owed, then close.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time

import aiohttp
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .stats import Recorder, Request
from .wire import REFUSED_ERRNOS, ConnectFailure, close_code_of, open_session

RECONNECT_DELAY_S = 0.2


class LoadClient:
    def __init__(self, index: int, url: str, token: str, rec: Recorder, rate: float, methods: list[str]) -> None:
        self.name = f"load-{index}"
        self.url, self.token, self.rec, self.methods = url, token, rec, methods
        self.period = 1.0 / rate
        self.stopping = False
        self.connected = False
        self.conn_no = 0
        self.pending: dict[str, Request] = {}
        self._ids = itertools.count(1)
        self._method = itertools.cycle(random.sample(methods, len(methods)))
        self._ws: ClientConnection | None = None
        self._we_closed = False

    async def run(self) -> None:
        await asyncio.sleep(random.uniform(0, self.period))  # spread the clients over one period
        while not self.stopping:
            try:
                ws, _hello = await open_session(self.url, self.token, self.name)
            except ConnectFailure as exc:
                self.rec.connect_failed(self.name, exc.kind, exc.detail, exc.status)
                await asyncio.sleep(RECONNECT_DELAY_S + random.uniform(0, 0.1))
                continue
            self.conn_no += 1
            self._ws, self.connected = ws, True
            code = await self._serve(ws, time.time())
            self._ws, self.connected = None, False
            if code is not None:
                self.rec.disconnect(self.name, code, "")
                await asyncio.sleep(RECONNECT_DELAY_S + random.uniform(0, 0.1))

    async def _serve(self, ws: ClientConnection, opened: float) -> int | None:
        """Send and receive on one connection; the server's close code, or None if we closed it."""
        self._we_closed = False
        sender = asyncio.create_task(self._send_loop(ws, opened))
        last_seq = 0
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "res":
                    self._answered(frame)
                elif frame.get("type") == "event" and "seq" in frame:
                    seq = frame["seq"]
                    if seq != last_seq + 1:
                        self.rec.seq_gap(self.name, self.conn_no, last_seq + 1, seq, frame.get("event", "?"))
                    if isinstance(seq, int):
                        last_seq = seq
            code = ws.close_code if ws.close_code is not None else 1006
        except ConnectionClosed as exc:
            code = close_code_of(exc)
        finally:
            sender.cancel()
        if self._we_closed:
            return None
        for req in self.pending.values():
            req.lost_to_close = True
        self.pending.clear()
        return code

    async def _send_loop(self, ws: ClientConnection, opened: float) -> None:
        next_at = time.monotonic()
        while not self.stopping:
            method = next(self._method)
            rid = str(next(self._ids))
            req = Request(self.name, self.conn_no, opened, method, self.rec.phase, time.time())
            self.pending[rid] = req
            self.rec.requests.append(req)
            try:
                await ws.send(json.dumps({"type": "req", "id": rid, "method": method, "params": {}}))
            except ConnectionClosed:
                return  # the receiver records the close and marks this request lost
            next_at += self.period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        while self.pending:  # stopping: wait for the answers still owed (Load.stop bounds this)
            await asyncio.sleep(0.02)
        self._we_closed = True
        await ws.close()

    def _answered(self, frame: dict) -> None:
        req = self.pending.pop(str(frame.get("id")), None)
        if req is None:
            return
        req.answered = time.time()
        req.ok = bool(frame.get("ok"))
        if not req.ok:
            err = frame.get("error") or {}
            details = err.get("details") if isinstance(err.get("details"), dict) else {}
            req.code, req.reason, req.cause = err.get("code"), details.get("reason"), details.get("cause")
            req.retryable, req.message = bool(err.get("retryable")), str(err.get("message", ""))[:120]

    def begin_stop(self) -> None:
        self.stopping = True

    async def close_now(self) -> None:
        """The drain time is over: close with the unanswered requests left pending."""
        ws = self._ws
        if ws is not None:
            self._we_closed = True
            await ws.close()


class HttpProber:
    """GET /readyz and /healthz alternately at `rate` per second, a fresh connection each time."""

    def __init__(self, base: str, rec: Recorder, rate: float) -> None:
        self.base, self.rec, self.period = base, rec, 1.0 / rate
        self.stopping = False

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(force_close=True, limit=8)
        timeout = aiohttp.ClientTimeout(total=5)
        paths = itertools.cycle(["/readyz", "/healthz"])
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            next_at = time.monotonic()
            inflight: set[asyncio.Task] = set()
            while not self.stopping:
                task = asyncio.create_task(self._probe(session, next(paths)))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                next_at += self.period
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if inflight:
                await asyncio.wait(inflight, timeout=6)

    async def _probe(self, session: aiohttp.ClientSession, path: str) -> None:
        t0 = time.monotonic()
        try:
            async with session.get(self.base + path) as resp:
                await resp.read()
                self.rec.probe(path, resp.status, (time.monotonic() - t0) * 1000, None)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            # refused, or reset/closed before any answer: a refused connect
            os_error = getattr(exc, "os_error", exc)
            refused = isinstance(exc, aiohttp.ServerDisconnectedError) or getattr(os_error, "errno", None) in REFUSED_ERRNOS
            label = "refused" if refused else type(exc).__name__
            self.rec.probe(path, None, (time.monotonic() - t0) * 1000, label)
            if refused:
                self.rec.connect_failed("http-prober", "refused", f"HTTP {path}: {type(exc).__name__} {os_error}"[:120])
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            self.rec.probe(path, None, (time.monotonic() - t0) * 1000, type(exc).__name__)


class Load:
    def __init__(self, url: str, http: str, token: str, rec: Recorder, clients: int, rate: float, http_rate: float,
                 methods: list[str]) -> None:
        self.clients = [LoadClient(i + 1, url, token, rec, rate, methods) for i in range(clients)]
        self.prober = HttpProber(http, rec, http_rate) if http_rate > 0 else None
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(c.run(), name=c.name) for c in self.clients]
        if self.prober is not None:
            self.tasks.append(asyncio.create_task(self.prober.run(), name="http-prober"))

    def connected(self) -> int:
        return sum(1 for c in self.clients if c.connected)

    async def wait_all_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.connected() < len(self.clients):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def stop(self, drain_s: float) -> None:
        """Stop sending; wait up to `drain_s` for answers still owed; then close everything."""
        for c in self.clients:
            c.begin_stop()
        if self.prober is not None:
            self.prober.stopping = True
        _done, pending = await asyncio.wait(self.tasks, timeout=drain_s) if self.tasks else (set(), set())
        for c in self.clients:  # whatever is still pending stays unanswered
            await c.close_now()
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=3)
