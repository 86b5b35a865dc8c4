"""The tool's own connection to the gateway (not part of the load): RPC calls that survive a
front-end restart, and a follower of the gateway's log through `logs.tail`."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .stats import Recorder
from .wire import ConnectFailure, open_session


class CallError(Exception):
    def __init__(self, method: str, error: dict[str, Any]) -> None:
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")
        self.error = error

    @property
    def retryable(self) -> bool:
        return bool(self.error.get("retryable")) or self.error.get("code") == "UNAVAILABLE"


class ControlClient:
    """One connection, reopened on demand; `call` retries across closes until its deadline."""

    def __init__(self, url: str, token: str, rec: Recorder) -> None:
        self.url, self.token, self.rec = url, token, rec
        self.ws: ClientConnection | None = None
        self.conn_no = 0
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self, deadline: float) -> ClientConnection:
        async with self._lock:
            while self.ws is None:
                try:
                    self.ws, _ = await open_session(self.url, self.token, "control", timeout=max(0.5, min(5.0, deadline - time.monotonic())))
                    self.conn_no += 1
                    self._reader = asyncio.create_task(self._read(self.ws, self.conn_no))
                except ConnectFailure as exc:
                    self.rec.connect_failed("control", exc.kind, exc.detail, exc.status)
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
            return self.ws

    async def _read(self, ws: ClientConnection, conn_no: int) -> None:
        last_seq = 0
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "res":
                    fut = self._waiting.pop(str(frame.get("id")), None)
                    if fut is not None and not fut.done():
                        fut.set_result(frame)
                elif frame.get("type") == "event" and "seq" in frame:
                    if frame["seq"] != last_seq + 1:
                        self.rec.seq_gap("control", conn_no, last_seq + 1, frame["seq"], frame.get("event", "?"))
                    last_seq = frame["seq"] if isinstance(frame["seq"], int) else last_seq
        except ConnectionClosed:
            pass
        finally:
            if self.ws is ws:
                self.ws = None
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("control connection closed"))
            self._waiting.clear()

    async def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0,
                   retry_unavailable: bool = True) -> dict[str, Any]:
        """The payload of a successful answer; CallError for an error answer (UNAVAILABLE is retried
        until the deadline unless `retry_unavailable` is false); TimeoutError past the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{method}: no answer within {timeout:.1f}s")
            rid = f"ctl-{next(self._ids)}"
            fut: asyncio.Future = asyncio.get_running_loop().create_future()
            try:
                ws = await self._ensure(deadline)
                self._waiting[rid] = fut
                await ws.send(json.dumps({"type": "req", "id": rid, "method": method, "params": params or {}}))
                frame = await asyncio.wait_for(fut, max(0.05, deadline - time.monotonic()))
            except (ConnectionError, ConnectionClosed, ConnectFailure):
                self._forget(rid, fut)
                await asyncio.sleep(0.05)
                continue
            except (TimeoutError, asyncio.TimeoutError):
                self._forget(rid, fut)
                raise TimeoutError(f"{method}: no answer within {timeout:.1f}s") from None
            if frame.get("ok"):
                return frame.get("payload") or {}
            err = CallError(method, frame.get("error") or {})
            if retry_unavailable and err.retryable and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                continue
            raise err

    def _forget(self, rid: str, fut: asyncio.Future) -> None:
        self._waiting.pop(rid, None)
        if fut.done() and not fut.cancelled():
            fut.exception()  # retrieved: a connection that closed under it is expected
        else:
            fut.cancel()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


@dataclass
class LogRecord:
    t: float  # epoch seconds (ms precision)
    message: str
    fields: dict[str, Any]
    process: str
    pid: int | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def child(self) -> str | None:
        return self.fields.get("child")


def parse_line(line: str) -> LogRecord | None:
    try:
        obj = json.loads(line)
        t = dt.datetime.fromisoformat(obj["time"]).timestamp()
    except (ValueError, KeyError, TypeError):
        return None
    fields = obj.get("fields") if isinstance(obj.get("fields"), dict) else {}
    return LogRecord(t, str(obj.get("message", "")), fields, str(obj.get("process", "")), obj.get("pid"), obj)


class LogFollower:
    """Pages through `logs.tail` from where the run started; records accumulate in `records`."""

    POLL_S = 0.15

    def __init__(self, ctl: ControlClient) -> None:
        self.ctl = ctl
        self.cursor: int | None = None
        self.records: list[LogRecord] = []
        self.skipped_bytes = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        first = await self.ctl.call("logs.tail", {"limit": 1, "maxBytes": 1})
        self.cursor = first.get("cursor", 0)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:  # the front-end may be restarting: try again on the next round
                pass
            await asyncio.sleep(self.POLL_S)

    async def poll(self) -> None:
        while True:
            page = await self.ctl.call("logs.tail", {"cursor": self.cursor, "limit": 5000, "maxBytes": 1_000_000}, timeout=5)
            if page.get("reset"):
                self.cursor = 0
            self.skipped_bytes += page.get("skippedBytes", 0)
            for line in page.get("lines", []):
                rec = parse_line(line)
                if rec is not None:
                    self.records.append(rec)
            self.cursor = page.get("cursor", self.cursor)
            if not page.get("lines") or self.cursor >= page.get("size", 0):
                return

    def find(self, pred: Callable[[LogRecord], bool], after: float = 0.0) -> list[LogRecord]:
        """Records matching `pred` logged at or after `after` (ms-truncated times: 2 ms slack)."""
        return [r for r in self.records if r.t >= after - 0.002 and pred(r)]

    async def wait_for(self, pred: Callable[[LogRecord], bool], after: float, timeout: float) -> LogRecord | None:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(pred, after)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass


def msg_is(message: str, child: str | None = None, **fields: Any) -> Callable[[LogRecord], bool]:
    """A predicate: this message, optionally for this child and with these field values."""
    def pred(r: LogRecord) -> bool:
        if r.message != message or (child is not None and r.child != child):
            return False
        return all(r.fields.get(k) == v for k, v in fields.items())
    return pred
