#!/usr/bin/env python3
"""OpenClaw Gateway benchmark (the project's own; runs against any loopback gateway URL).

Measures (select with --only; default = all that apply):

  startup     only with --start-cmd: spawn -> first accepted hello-ok (ms), tree RSS 5 s after
              ready (MiB), and at the very end SIGTERM -> exit (ms, plus leftover descendants)
  handshake   N sequential full handshakes (open, challenge, connect, hello-ok, close): p50/p99
  health      one connection, N sequential `health` calls after a warm-up: p50/p99
  concurrent  C clients x F in flight for D seconds, spread over W client processes: calls/s, p99
  idle        K authenticated idle connections: RSS growth of the gateway front-end, KiB/conn

The default client ("raw") is a minimal WebSocket client written straight on asyncio.Protocol
(uvloop when importable): request frames are built from pre-encoded byte pieces, responses are
matched by locating the "id" substring (no JSON decoding on the hot path) and the health loops are
driven from the protocol callbacks (no task switch per call).  `--client websockets` runs the same
measurements with the `websockets` library instead, as a cross-check.

Only loopback hosts are accepted in --url.  Run `python ops/bench/bench.py --help`.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import ipaddress
import json
import math
import multiprocessing as mp
import os
import re
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from time import perf_counter
from urllib.parse import urlsplit

try:  # optional accelerators / helpers
    import uvloop  # type: ignore
except Exception:  # pragma: no cover
    uvloop = None
try:
    import psutil  # type: ignore
except Exception:  # pragma: no cover
    psutil = None
try:
    import msgspec  # type: ignore
except Exception:  # pragma: no cover
    msgspec = None
try:
    from websockets.speedups import apply_mask as _c_apply_mask  # type: ignore
except Exception:  # pragma: no cover
    _c_apply_mask = None


def _py_apply_mask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    if not n:
        return b""
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")


apply_mask = _c_apply_mask or _py_apply_mask

MEASUREMENTS = ("startup", "handshake", "health", "concurrent", "idle")
REPORTED = MEASUREMENTS + ("shutdown", "compare_routed")
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# request ids are "bn<counter>" per connection: short, and distinctive enough that an event payload
# can never be mistaken for one of our responses by the substring match
CONNECT_ID = b"1"
NOTE_SHARED = "client and server share the same CPU cores: figures include the client's own CPU cost"

# name -> (label, comparison, target, unit); comparison None = report only
CHECKS = {
    "start_to_hello_ms": ("start -> first hello-ok", "<=", 600.0, "ms"),
    "tree_rss_mib": ("tree RSS 5 s after ready", "<=", 150.0, "MiB"),
    "handshake_p50_ms": ("handshake p50", "<=", 0.9, "ms"),
    "handshake_p99_ms": ("handshake p99", None, None, "ms"),
    "health_p50_ms": ("health sequential p50", "<=", 0.5, "ms"),
    "health_p99_ms": ("health sequential p99", None, None, "ms"),
    "concurrent_calls_per_s": ("health concurrent", ">=", 15000.0, "calls/s"),
    "concurrent_p99_ms": ("health concurrent p99", None, None, "ms"),
    "idle_kib_per_conn": ("idle connection cost", "<=", 20.0, "KiB/conn"),
    "sigterm_to_exit_ms": ("SIGTERM -> exit", None, None, "ms"),
    "routed_ratio": ("routed gateway / minimal chain", ">=", 0.8, "x"),
    "routed_ratio_tuned": ("routed gateway / tuned chain", ">=", 0.8, "x"),
}
CHECK_GROUP = {
    "start_to_hello_ms": "startup", "tree_rss_mib": "startup", "sigterm_to_exit_ms": "shutdown",
    "handshake_p50_ms": "handshake", "handshake_p99_ms": "handshake",
    "health_p50_ms": "health", "health_p99_ms": "health",
    "concurrent_calls_per_s": "concurrent", "concurrent_p99_ms": "concurrent",
    "idle_kib_per_conn": "idle", "routed_ratio": "compare_routed", "routed_ratio_tuned": "compare_routed",
}


class BenchError(Exception):
    pass


class HandshakeError(Exception):
    def __init__(self, msg: str, retryable: bool = False, fatal: bool = False):
        super().__init__(msg)
        self.retryable = retryable
        self.fatal = fatal  # e.g. auth rejected: retrying cannot help


# --------------------------------------------------------------------------- target / frames


class CallTemplate:
    """Pre-encoded request bytes for one method: `pre + id + post` is the whole request frame."""

    PRE = b'{"type":"req","id":"'

    def __init__(self, method: str = "health", params_json: bytes | None = None):
        self.method = method
        self.params_json = params_json
        post = b'","method":' + json.dumps(method).encode()
        if params_json is not None:
            post += b',"params":' + params_json
        self.post = post + b"}"

    def request(self, idb: bytes) -> bytes:
        return self.PRE + idb + self.post


HEALTH = CallTemplate("health")


class Target:
    """A validated loopback gateway URL plus the pre-encoded bytes every client needs."""

    def __init__(self, url: str, token: str | None, password: str | None):
        try:
            u = urlsplit(url)
            port = u.port
        except ValueError as e:
            raise BenchError(f"bad --url {url!r}: {e}") from None
        if u.scheme != "ws":
            raise BenchError(f"--url must be ws://HOST:PORT/ (got scheme {u.scheme!r})")
        host = u.hostname or ""
        if host.lower() == "localhost":
            host = "127.0.0.1"
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise BenchError(f"refusing host {host!r}: only loopback addresses (127.0.0.1, ::1) are allowed") from None
        if not ip.is_loopback:
            raise BenchError(f"refusing non-loopback host {host}: only 127.0.0.1 / ::1 are allowed")
        self.host = str(ip)
        self.port = port or 80
        self.hostport = f"[{self.host}]:{self.port}" if ip.version == 6 else f"{self.host}:{self.port}"
        self.path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        self.url = f"ws://{self.hostport}{self.path}"
        params: dict = {
            "minProtocol": 4, "maxProtocol": 4,
            "client": {"id": "cli", "version": "bench", "platform": "linux", "mode": "cli"},
            "role": "operator",
            "scopes": ["operator.read", "operator.write", "operator.admin"],
            "caps": [],
        }
        if token:
            params["auth"] = {"token": token}
        elif password:
            params["auth"] = {"password": password}
        self.connect_payload = json.dumps(
            {"type": "req", "id": CONNECT_ID.decode(), "method": "connect", "params": params},
            separators=(",", ":")).encode()
        self._up_head = (f"GET {self.path} HTTP/1.1\r\nHost: {self.hostport}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ").encode()

    def upgrade_request(self, key: bytes) -> bytes:
        return self._up_head + key + b"\r\n\r\n"


def encode_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
    return head + mask + apply_mask(payload, mask)


def frame_id(m: bytes) -> bytes | None:
    """The value of the first "id" key (string ids only) without decoding the frame."""
    j = m.find(b'"id":"')
    if j >= 0:
        j += 6
        return m[j:m.find(b'"', j)]
    j = m.find(b'"id"')
    if j < 0:
        return None
    k, n = j + 4, len(m)
    while k < n and m[k] in b" \t\r\n:":
        k += 1
    if k >= n or m[k] != 34:
        return None
    e = m.find(b'"', k + 1)
    return m[k + 1:e] if e > 0 else None


if msgspec is not None:
    class _Env(msgspec.Struct):
        type: str = ""
        id: object = None
        ok: object = None
        error: object = None

    _env_dec = msgspec.json.Decoder(_Env)

    def decode_env(m: bytes):
        """Envelope only (type/id/ok/error); the payload is skipped, not materialised."""
        try:
            return _env_dec.decode(m)
        except Exception:
            return None
else:  # pragma: no cover
    class _EnvObj:
        __slots__ = ("type", "id", "ok", "error")

    def decode_env(m: bytes):
        try:
            d = json.loads(m)
        except Exception:
            return None
        if not isinstance(d, dict):
            return None
        e = _EnvObj()
        e.type, e.id, e.ok, e.error = d.get("type", ""), d.get("id"), d.get("ok"), d.get("error")
        return e


def _err_text(err) -> str:
    if isinstance(err, dict):
        return f"{err.get('code')}: {err.get('message')}"
    return repr(err)


def classify_connect_reply(m: bytes):
    """None = not the connect response; True = accepted; HandshakeError = rejected."""
    rid = frame_id(m)
    if rid == CONNECT_ID and b'"hello-ok"' in m:
        return True
    if rid != CONNECT_ID and b'"res"' not in m:
        return None
    env = decode_env(m)
    if env is None or env.type != "res" or env.id != CONNECT_ID.decode():
        return None
    if env.ok is True:
        return True
    err = env.error if isinstance(env.error, dict) else {}
    code = err.get("code")
    retry = bool(err.get("retryable")) or code == "UNAVAILABLE"
    return HandshakeError(f"connect rejected: {_err_text(env.error)}", retryable=retry, fatal=not retry)


def _close_error(code, reason, stage: str) -> HandshakeError:
    msg = f"connection closed {stage}"
    if code is not None:
        msg += f" (close {code} {reason!r})"
    return HandshakeError(msg, retryable=code in (None, 1001, 1006, 1011, 1012, 1013))


def _resolve(fut, value=None, exc=None):
    if not fut.done():
        if exc is not None:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: the awaiting side still gets it
        else:
            fut.set_result(value)


# --------------------------------------------------------------------------- raw client


def _ignore(_m: bytes) -> None:
    pass


class RawConn(asyncio.Protocol):
    """Minimal RFC 6455 client: upgrade, challenge -> connect -> hello-ok, then callback mode."""

    def __init__(self, target: Target, loop):
        self.target = target
        self.loop = loop
        self.transport = None
        self.mask = os.urandom(4)
        self.key = base64.b64encode(os.urandom(16))
        self.stage = 0  # 0 upgrade sent, 1 open / waiting challenge, 2 connect sent, 3 ready
        self.chunks: list = []
        self.have = 0
        self.need = 0
        self.frag = None
        self.frag_op = 0
        self.on_text = self._hs_text
        self.ready = loop.create_future()
        self.closed = loop.create_future()
        self.close_code = None
        self.close_reason = ""
        self.close_sent = False
        self.hdone = None

    # -- asyncio callbacks
    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.target.upgrade_request(self.key))

    def connection_lost(self, exc):
        stage = {0: "during the HTTP upgrade", 1: "before the challenge", 2: "before hello-ok"}.get(self.stage)
        if stage:
            e = _close_error(self.close_code, self.close_reason, stage)
            if self.close_code is None and exc is not None:
                e = HandshakeError(f"connection lost {stage}: {exc!r}", retryable=True)
            _resolve(self.ready, exc=e)
        _resolve(self.closed, self.close_code)
        if self.hdone is not None:
            _resolve(self.hdone, exc=ConnectionError(
                f"connection closed during calls (close {self.close_code} {self.close_reason!r})"))

    def data_received(self, data):
        if self.chunks:
            self.chunks.append(data)
            self.have += len(data)
            if self.have < self.need:
                return
            data = b"".join(self.chunks)
            self.chunks = []
            self.have = 0
        if self.stage == 0:
            e = data.find(b"\r\n\r\n")
            if e < 0:
                if len(data) > 65536:
                    self._fail_upgrade("oversized HTTP response")
                else:
                    self._stash(data, len(data) + 1)
                return
            if not self._check_upgrade(data[:e]):
                return
            self.stage = 1
            data = data[e + 4:]
            if not data:
                return
        n = len(data)
        i = 0
        need = 0
        while True:
            r = n - i
            if r < 2:
                need = 2
                break
            b0 = data[i]
            b1 = data[i + 1]
            ln = b1 & 127
            h = i + 2
            if ln > 125:
                if ln == 126:
                    if r < 4:
                        need = 4
                        break
                    ln = (data[h] << 8) | data[h + 1]
                    h += 2
                else:
                    if r < 10:
                        need = 10
                        break
                    ln = int.from_bytes(data[h:h + 8], "big")
                    h += 8
            mk = None
            if b1 & 128:  # servers must not mask, but be lenient
                if n - h < 4:
                    need = h - i + 4
                    break
                mk = data[h:h + 4]
                h += 4
            e = h + ln
            if e > n:
                need = e - i
                break
            p = data[h:e]
            if mk is not None:
                p = apply_mask(p, mk)
            i = e
            if b0 == 0x81:
                self.on_text(p)
            else:
                self._frame(b0, p)
        if i < n:
            self._stash(data[i:], need)

    # -- helpers
    def _stash(self, buf, need):
        self.chunks = [buf]
        self.have = len(buf)
        self.need = need

    def _fail_upgrade(self, msg, retryable=False):
        _resolve(self.ready, exc=HandshakeError(msg, retryable=retryable))
        self.transport.abort()

    def _check_upgrade(self, head: bytes) -> bool:
        status = head.split(b"\r\n", 1)[0]
        parts = status.split(b" ", 2)
        if len(parts) < 2 or parts[1] != b"101":
            code = parts[1].decode("latin1") if len(parts) > 1 else "?"
            self._fail_upgrade(f"HTTP upgrade refused: {status.decode('latin1')}", retryable=code in ("502", "503"))
            return False
        want = base64.b64encode(hashlib.sha1(self.key + WS_GUID).digest())
        low = head.lower()
        k = low.find(b"\r\nsec-websocket-accept:")
        if k < 0 or head[k + 23:].split(b"\r\n", 1)[0].strip() != want:
            self._fail_upgrade("bad or missing Sec-WebSocket-Accept")
            return False
        if b"\r\nsec-websocket-extensions:" in low:
            self._fail_upgrade("server negotiated an extension the client did not offer")
            return False
        return True

    def _frame(self, b0, p):
        op = b0 & 15
        fin = b0 & 128
        if op == 0:
            if self.frag is None:
                return
            self.frag.append(p)
            if fin:
                msg = b"".join(self.frag)
                fop = self.frag_op
                self.frag = None
                if fop == 1:
                    self.on_text(msg)
        elif op in (1, 2):
            if not fin:
                self.frag = [p]
                self.frag_op = op
            elif op == 1:
                self.on_text(p)
        elif op == 8:
            self.close_code = int.from_bytes(p[:2], "big") if len(p) >= 2 else 1005
            self.close_reason = p[2:].decode("utf-8", "replace")
            if not self.close_sent and not self.transport.is_closing():
                self.close_sent = True
                self.transport.write(encode_frame(8, p[:2], self.mask))
            self.transport.close()
        elif op == 9:
            if not self.transport.is_closing():
                self.transport.write(encode_frame(0xA, p, self.mask))

    def _hs_text(self, m: bytes):
        if self.stage == 1:
            if b"connect.challenge" in m:
                self.stage = 2
                self.transport.write(encode_frame(1, self.target.connect_payload, self.mask))
            return
        if self.stage == 2:
            res = classify_connect_reply(m)
            if res is True:
                t = perf_counter()
                self.stage = 3
                self.on_text = _ignore
                _resolve(self.ready, t)
            elif res is not None:
                _resolve(self.ready, exc=res)
                self.stage = 4
                self.on_text = _ignore

    async def aclose(self, timeout: float = 0.5) -> bool:
        """Close handshake (not timed). Returns False if the server did not finish it in time."""
        tr = self.transport
        if tr is None or self.closed.done():
            return True
        if not self.close_sent and not tr.is_closing():
            self.close_sent = True
            tr.write(encode_frame(8, b"\x03\xe8", self.mask))
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self.closed)
            return True
        except TimeoutError:
            tr.abort()
            return False

    # -- call driver: everything runs inside data_received, no task per call
    def start_calls(self, tmpl: CallTemplate, inflight, max_calls, rec_idx, rec_from, stop, lat):
        self.htmpl = tmpl
        self.hp = {}
        self.hn = 0
        self.hmax = max_calls
        self.hrec_idx = rec_idx
        self.hrec_from = rec_from
        self.hstop = stop
        self.hlat = lat
        self.herr = 0
        self.herr_first = None
        self.hdone = self.loop.create_future()
        self.on_text = self._h_text
        for _ in range(inflight):
            if not self._h_send():
                break
        if not self.hp:
            _resolve(self.hdone, None)
        return self.hdone

    def _h_send(self) -> bool:
        n = self.hn
        if self.hmax is not None and n >= self.hmax:
            return False
        idb = b"bn%d" % n
        frame = encode_frame(1, self.htmpl.request(idb), self.mask)
        t = perf_counter()
        if t >= self.hstop:
            return False
        self.hn = n + 1
        self.hp[idb] = (t, n)
        self.transport.write(frame)
        return True

    def _h_text(self, m: bytes):
        now = perf_counter()
        ent = None
        j = m.find(b'"id":"')
        if j >= 0:
            j += 6
            ent = self.hp.pop(m[j:m.find(b'"', j)], None)
        if ent is None:  # unusual formatting, or an event: take the slow path
            env = decode_env(m)
            if env is None or env.type != "res" or not isinstance(env.id, str):
                return
            ent = self.hp.pop(env.id.encode(), None)
            if ent is None:
                return
        ok = True
        if b'"ok":f' in m or b'"ok": f' in m:  # maybe an error response: check the envelope
            env = decode_env(m)
            if env is None or env.ok is not True:
                ok = False
                self.herr += 1
                if self.herr_first is None:
                    self.herr_first = _err_text(env.error) if env is not None else "undecodable response"
        t0, idx = ent
        if ok and idx >= self.hrec_idx and self.hrec_from <= now <= self.hstop:
            self.hlat.append(now - t0)
        if not self._h_send() and not self.hp:
            _resolve(self.hdone, None)


async def raw_open(target: Target, timeout: float):
    """Open + full handshake. Returns (conn, t_open, t_hello)."""
    loop = asyncio.get_running_loop()
    conn = None
    t0 = perf_counter()
    try:
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(lambda: RawConn(target, loop), target.host, target.port)
            t1 = await conn.ready
    except BaseException as e:
        if conn is not None and conn.transport is not None:
            conn.transport.abort()
        if isinstance(e, TimeoutError):
            where = ("TCP connect" if conn is None else
                     {0: "HTTP upgrade", 1: "waiting for connect.challenge", 2: "waiting for hello-ok"}.get(conn.stage, "?"))
            raise TimeoutError(f"handshake timed out after {timeout:g} s ({where})") from None
        raise
    return conn, t0, t1


# --------------------------------------------------------------------------- websockets client


class WsConn:
    """Same interface as RawConn, on top of websockets.asyncio.client (cross-check client)."""

    def __init__(self, ws):
        self.ws = ws
        self.hdone = None
        self.herr = 0
        self.herr_first = None

    async def aclose(self, timeout: float = 0.5) -> bool:
        try:
            async with asyncio.timeout(timeout + 0.5):
                await self.ws.close()
            return True
        except TimeoutError:
            self.ws.transport.abort()
            return False

    @property
    def open(self) -> bool:
        from websockets.protocol import State
        return self.ws.state is State.OPEN

    async def run_calls(self, tmpl: CallTemplate, inflight, max_calls, rec_idx, rec_from, stop, lat):
        ws = self.ws
        loop = asyncio.get_running_loop()
        pending: dict = {}
        state = {"n": 0, "err": 0, "first": None}

        async def reader():
            while True:
                m = await ws.recv(decode=False)
                now = perf_counter()
                rid = frame_id(m)
                fut = pending.pop(rid, None) if rid is not None else None
                if fut is None:
                    env = decode_env(m)
                    if env is None or env.type != "res" or not isinstance(env.id, str):
                        continue
                    fut = pending.pop(env.id.encode(), None)
                    if fut is None:
                        continue
                err = None
                if b'"ok":f' in m or b'"ok": f' in m:
                    env = decode_env(m)
                    if env is None or env.ok is not True:
                        err = _err_text(env.error) if env is not None else "undecodable response"
                if not fut.done():
                    fut.set_result((now, err))

        async def slot():
            while True:
                n = state["n"]
                if max_calls is not None and n >= max_calls:
                    return
                idb = b"bn%d" % n
                p = tmpl.request(idb)
                fut = loop.create_future()
                t0 = perf_counter()
                if t0 >= stop:
                    return
                state["n"] = n + 1
                pending[idb] = fut
                await ws.send(p, text=True)
                now, err = await fut
                if err is not None:
                    state["err"] += 1
                    self.herr = state["err"]
                    state["first"] = state["first"] or err
                elif n >= rec_idx and rec_from <= now <= stop:
                    lat.append(now - t0)

        rtask = asyncio.ensure_future(reader())
        try:
            slots = asyncio.gather(*(slot() for _ in range(inflight)))
            done, _ = await asyncio.wait({rtask, slots}, return_when=asyncio.FIRST_COMPLETED)
            if slots not in done:
                slots.cancel()
                exc = rtask.exception()
                raise ConnectionError(f"connection closed during calls: {exc!r}")
            slots.result()
        finally:
            rtask.cancel()
        self.herr, self.herr_first = state["err"], state["first"]


async def ws_open(target: Target, timeout: float):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    t0 = perf_counter()
    ws = None
    stage = "before the challenge"
    try:
        async with asyncio.timeout(timeout):
            try:
                ws = await connect(target.url, compression=None, max_size=None, open_timeout=None,
                                   ping_interval=None, close_timeout=1, proxy=None, user_agent_header=None)
            except InvalidStatus as e:
                code = e.response.status_code
                raise HandshakeError(f"HTTP upgrade refused: {code}", retryable=code in (502, 503)) from None
            while True:
                m = await ws.recv(decode=False)
                if b"connect.challenge" in m:
                    break
            stage = "before hello-ok"
            await ws.send(target.connect_payload, text=True)
            while True:
                m = await ws.recv(decode=False)
                res = classify_connect_reply(m)
                if res is True:
                    t1 = perf_counter()
                    break
                if res is not None:
                    raise res
    except ConnectionClosed as e:
        rcvd = e.rcvd
        if ws is not None:
            ws.transport.abort()
        raise _close_error(rcvd.code if rcvd else None, rcvd.reason if rcvd else "", stage) from None
    except BaseException:
        if ws is not None:
            ws.transport.abort()
        raise
    return WsConn(ws), t0, t1


def get_opener(kind: str):
    return raw_open if kind == "raw" else ws_open


async def run_calls_on(conn, tmpl: CallTemplate, inflight, max_calls, rec_idx, rec_from, stop, lat,
                       stall_timeout=None):
    """Drive `tmpl` calls on one connection. With stall_timeout, fail if no response arrives
    for that long (so a server that stops answering cannot stall the measurement)."""
    if isinstance(conn, RawConn):
        fut = conn.start_calls(tmpl, inflight, max_calls, rec_idx, rec_from, stop, lat)
    else:
        fut = asyncio.ensure_future(conn.run_calls(tmpl, inflight, max_calls, rec_idx, rec_from, stop, lat))
    if stall_timeout is None:
        await fut
    else:
        last = -1
        while True:
            progress = len(lat) + getattr(conn, "herr", 0)
            if progress == last:
                fut.cancel()
                raise TimeoutError(f"no {tmpl.method} response for {stall_timeout:g} s ({len(lat)} answered so far)")
            last = progress
            done, _ = await asyncio.wait({fut}, timeout=stall_timeout)
            if done:
                fut.result()
                break
    return conn.herr, conn.herr_first


def conn_is_open(conn) -> bool:
    if isinstance(conn, RawConn):
        return not conn.closed.done() and conn.stage == 3
    return conn.open


# --------------------------------------------------------------------------- stats / processes


def pct(sorted_vals, q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, math.ceil(q * len(sorted_vals)) - 1))
    return sorted_vals[k]


def lat_summary(lat_s, prefix: str) -> dict:
    v = sorted(lat_s)
    if not v:
        return {f"{prefix}_{k}_ms": None for k in ("p50", "p90", "p99", "max", "mean")}
    return {
        f"{prefix}_p50_ms": round(pct(v, 0.50) * 1e3, 4),
        f"{prefix}_p90_ms": round(pct(v, 0.90) * 1e3, 4),
        f"{prefix}_p99_ms": round(pct(v, 0.99) * 1e3, 4),
        f"{prefix}_max_ms": round(v[-1] * 1e3, 4) if v else None,
        f"{prefix}_mean_ms": round(sum(v) / len(v) * 1e3, 4) if v else None,
    }


def _alive(p) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def tree_procs(pid: int) -> list:
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


def rss_of(procs) -> int:
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def cpu_of(procs) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def find_frontend(pid: int):
    for p in tree_procs(pid):
        try:
            cmd = p.cmdline()
            name = p.name()
        except psutil.Error:
            continue
        joined = " ".join(cmd)
        if "openclaw.frontend" in joined or "frontend" in name or (len(cmd) == 1 and "frontend" in cmd[0]):
            return p
    return None


def listener_pids(port: int) -> list:
    if psutil is None:
        return []
    try:
        conns = psutil.net_connections(kind="inet")
    except Exception:
        return []
    return sorted({c.pid for c in conns
                   if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid})


class ProcTarget:
    """What to sample for RSS/CPU: a fixed pid set, or a whole (re-enumerated) process tree."""

    def __init__(self, label: str, pids=(), tree_root: int | None = None):
        self.label = label
        self.pids = list(pids)
        self.tree_root = tree_root

    def procs(self):
        if self.tree_root is not None:
            return tree_procs(self.tree_root)
        out = []
        for pid in self.pids:
            try:
                out.append(psutil.Process(pid))
            except psutil.Error:
                pass
        return out

    def rss(self) -> int:
        return rss_of(self.procs())


class State:
    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.known_desc: list = []
        self.log_path: str | None = None
        self.keep_log = False
        self.ready = False
        self.workers: list = []
        self.chains: list[tuple[subprocess.Popen, str]] = []  # --compare-routed: reference chains + logs


def log_tail(path: str | None, n: int = 15, what: str = "server") -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 8192))
            lines = f.read().decode("utf-8", "replace").splitlines()[-n:]
    except OSError:
        return ""
    return (f"\n    {what} log tail:\n      " + "\n      ".join(lines)) if lines else ""


_SHELL_META = set("|&;<>()$`\\*?~{}\n")


def spawn_argv(cmd: str):
    """(argv_or_cmd, use_shell, env_overrides). Simple commands are exec'd directly so that the
    spawned PID is the gateway itself (SIGTERM then reaches it, not a wrapping shell)."""
    if any(c in _SHELL_META for c in cmd):
        return cmd, True, {}
    try:
        toks = shlex.split(cmd)
    except ValueError:
        return cmd, True, {}
    env = {}
    while toks and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", toks[0]):
        k, v = toks.pop(0).split("=", 1)
        env[k] = v
    if not toks:
        raise BenchError("--start-cmd has no command")
    return toks, False, env


def kill_spawned(state: State) -> None:
    """Stop everything we spawned: its process group (by our child's PID) + known descendants."""
    proc = state.proc
    if proc is None:
        return
    pgid = proc.pid
    try:
        if proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for p in state.known_desc:  # descendants that left the group (setsid) are still ours
            try:
                if p.is_running():
                    p.kill()
            except psutil.Error:
                pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
    finally:
        state.proc = None
        if state.log_path and not state.keep_log:
            try:
                os.unlink(state.log_path)
            except OSError:
                pass


def raise_nofile(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    return soft


async def wait_readable(fd: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.add_reader(fd, _resolve, fut, None)
    try:
        async with asyncio.timeout(timeout):
            await fut
    finally:
        loop.remove_reader(fd)
        os.set_blocking(fd, True)  # uvloop's add_reader made it non-blocking; Connection.recv needs blocking


async def pipe_recv(pipe, timeout: float):
    if not pipe.poll():
        await wait_readable(pipe.fileno(), timeout)
    return pipe.recv()


async def tcp_port_open(target: Target) -> bool:
    try:
        async with asyncio.timeout(1.0):
            _, w = await asyncio.open_connection(target.host, target.port)
        w.close()
        return True
    except (OSError, TimeoutError):
        return False


async def http_health(target: Target, timeout: float = 3.0) -> dict:
    """GET /health on the gateway port (plain HTTP/1.1, Connection: close)."""
    t0 = perf_counter()
    async with asyncio.timeout(timeout):
        r, w = await asyncio.open_connection(target.host, target.port)
        try:
            w.write(f"GET /health HTTP/1.1\r\nHost: {target.hostport}\r\nConnection: close\r\n\r\n".encode())
            data = await r.read()
        finally:
            w.close()
    ms = (perf_counter() - t0) * 1e3
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("latin1")
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return {"status": status, "body": body[:200].decode("utf-8", "replace"), "ms": round(ms, 3)}


# --------------------------------------------------------------------------- measurements


async def m_startup(args, target: Target, state: State, opener, report_figures: bool) -> dict:
    if psutil is None:
        raise BenchError("psutil is required for --start-cmd")
    if await tcp_port_open(target):
        raise BenchError(f"something already listens on {target.hostport}; refusing to spawn "
                         f"(the startup figure would be meaningless)")
    argv, use_shell, env_over = spawn_argv(args.start_cmd)
    env = dict(os.environ)
    env.update(env_over)
    if args.start_log:
        state.log_path, state.keep_log = args.start_log, True
        logf = open(args.start_log, "wb")
    else:
        fd, state.log_path = tempfile.mkstemp(prefix="openclaw-bench-server-", suffix=".log")
        logf = os.fdopen(fd, "wb")
    try:
        t_spawn = perf_counter()
        state.proc = subprocess.Popen(argv, shell=use_shell, env=env, stdin=subprocess.DEVNULL,
                                      stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        logf.close()
    proc = state.proc
    attempts = refused = rejected = 0
    last_reject = last_other = None
    deadline = t_spawn + args.startup_timeout
    while True:
        rc = proc.poll()
        if rc is not None:
            raise BenchError(f"server exited with code {rc} before a hello-ok{log_tail(state.log_path)}")
        now = perf_counter()
        if now > deadline:
            raise BenchError(f"no hello-ok within {args.startup_timeout:g} s "
                             f"({attempts} attempts; last rejection: {last_reject}; last other error: "
                             f"{last_other}){log_tail(state.log_path)}")
        attempts += 1
        try:
            conn, _, t_hello = await opener(target, min(args.timeout, max(0.05, deadline - now)))
            break
        except HandshakeError as e:
            rejected += 1
            last_reject = str(e)
            if e.fatal:
                raise BenchError(f"server rejected the connect: {e}{log_tail(state.log_path)}") from None
        except (OSError, TimeoutError) as e:
            refused += 1
            last_other = f"{type(e).__name__}: {e}"
        await asyncio.sleep(args.poll_interval)
    state.ready = True
    start_ms = (t_hello - t_spawn) * 1e3
    await conn.aclose()
    out = {"start_to_hello_ms": round(start_ms, 2), "connect_attempts": attempts,
           "attempts_refused_or_timed_out": refused, "attempts_rejected": rejected,
           "last_rejection": last_reject, "spawned_pid": proc.pid,
           "spawn_mode": "shell" if use_shell else "exec"}
    state.known_desc = tree_procs(proc.pid)[1:]
    if not report_figures:
        return out
    await asyncio.sleep(max(0.0, t_hello + args.rss_delay - perf_counter()))
    procs = tree_procs(proc.pid)
    state.known_desc = procs[1:]
    rss = rss_of(procs)
    out["tree_rss_mib"] = round(rss / 1048576, 2)
    out["tree_processes"] = [{"pid": p.pid, "name": _pname(p), "rss_mib": round(rss_of([p]) / 1048576, 2)}
                             for p in procs]
    return out


def _pname(p) -> str:
    try:
        cmd = p.cmdline()
        return (" ".join(cmd) if cmd else p.name())[:80]
    except psutil.Error:
        return "?"


async def m_sigterm(args, state: State) -> dict:
    proc = state.proc
    if proc is None:
        raise BenchError("no spawned server")
    rc = proc.poll()
    if rc is not None:
        raise BenchError(f"server already exited (code {rc}) before SIGTERM")
    desc = tree_procs(proc.pid)[1:]
    state.known_desc = list({p.pid: p for p in state.known_desc + desc}.values())
    pidfd = None
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        pass
    t0 = perf_counter()
    os.kill(proc.pid, signal.SIGTERM)
    exited = True
    try:
        if pidfd is not None:
            await wait_readable(pidfd, args.term_timeout)
        else:
            while proc.poll() is None:
                if perf_counter() - t0 > args.term_timeout:
                    raise TimeoutError
                await asyncio.sleep(0.001)
    except TimeoutError:
        exited = False
    finally:
        if pidfd is not None:
            os.close(pidfd)
    t1 = perf_counter()
    if exited:
        proc.wait()
    out = {"sigterm_to_exit_ms": round((t1 - t0) * 1e3, 2) if exited else None,
           "exited": exited, "exit_code": proc.returncode}
    alive_now = [p.pid for p in desc if _alive(p)]
    await asyncio.sleep(0.5)
    alive_later = [p.pid for p in desc if _alive(p)]
    out["descendants_before"] = len(desc)
    out["descendants_alive_at_exit"] = alive_now
    out["descendants_alive_0_5s_later"] = alive_later
    if not exited:
        out["error"] = f"still running {args.term_timeout:g} s after SIGTERM (will be killed)"
    return out


async def m_handshake(args, target: Target, opener) -> dict:
    lat = []
    close_timeouts = 0
    for i in range(args.handshake_warmup + args.handshakes):
        conn, t0, t1 = await opener(target, args.timeout)
        if i >= args.handshake_warmup:
            lat.append(t1 - t0)
        if not await conn.aclose():
            close_timeouts += 1
    out = {"handshakes": len(lat), "warmup": args.handshake_warmup, **lat_summary(lat, "handshake")}
    if close_timeouts:
        out["close_handshake_timeouts"] = close_timeouts
    return out


async def m_health(args, target: Target, opener) -> dict:
    conn, _, _ = await opener(target, args.timeout)
    try:
        lat: list = []
        err, first = await run_calls_on(conn, HEALTH, 1, args.health_warmup + args.health_calls, args.health_warmup,
                                        float("-inf"), float("inf"), lat, stall_timeout=args.timeout)
    finally:
        await conn.aclose()
    out = {"calls": len(lat), "warmup": args.health_warmup, "errors": err, **lat_summary(lat, "health")}
    if err:
        out["error"] = f"{err} health calls failed; first: {first}"
    return out


def concurrent_worker(wid, nclients, inflight, target, tmpl, client_kind, timeout, use_uvloop, pipe):
    """Client process: open connections, report ready, wait for 'go', drive load, report back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    factory = uvloop.new_event_loop if (use_uvloop and uvloop is not None) else None
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_worker_main(nclients, inflight, target, tmpl, client_kind, timeout, pipe))
    except BaseException as e:  # noqa: BLE001 - report anything to the parent
        try:
            pipe.send(("error", f"worker {wid}: {type(e).__name__}: {e}"))
        except Exception:
            pass


async def _worker_main(nclients, inflight, target, tmpl, client_kind, timeout, pipe):
    opener = get_opener(client_kind)
    opened = await asyncio.gather(*(opener(target, timeout) for _ in range(nclients)), return_exceptions=True)
    conns = [o[0] for o in opened if not isinstance(o, BaseException)]
    errs = [f"{type(o).__name__}: {o}" for o in opened if isinstance(o, BaseException)]
    try:
        pipe.send(("ready", len(conns), errs[0] if errs else None))
        if errs:
            return
        msg = await pipe_recv(pipe, 300)
        if msg[0] != "go":
            return
        _, start, rec_from, stop = msg
        off = perf_counter() - time.monotonic()
        start, rec_from, stop = start + off, rec_from + off, stop + off
        lat: list = []
        cpu = {}

        async def cpu_marks():
            await asyncio.sleep(max(0.0, rec_from - perf_counter()))
            cpu["a"] = time.process_time()
            await asyncio.sleep(max(0.0, stop - perf_counter()))
            cpu["b"] = time.process_time()

        await asyncio.sleep(max(0.0, start - perf_counter()))
        marks = asyncio.ensure_future(cpu_marks())
        runs = [run_calls_on(c, tmpl, inflight, None, 0, rec_from, stop, lat) for c in conns]
        results = []
        try:
            async with asyncio.timeout(stop - perf_counter() + timeout):
                results = await asyncio.gather(*runs, return_exceptions=True)
        except TimeoutError:
            pass
        await marks
        unfinished = sum(len(c.hp) for c in conns if isinstance(c, RawConn) and hasattr(c, "hp"))
        errors = sum(r[0] for r in results if isinstance(r, tuple))
        firsts = [r[1] for r in results if isinstance(r, tuple) and r[1]]
        fails = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
        if not results:
            fails.append(f"calls still in flight {timeout:g} s after the end of the window")
        pipe.send(("done", {"lat": array("d", lat).tobytes(), "errors": errors,
                            "first_error": firsts[0] if firsts else None, "failures": fails,
                            "unfinished": unfinished, "cpu_s": cpu.get("b", 0) - cpu.get("a", 0)}))
    finally:
        await asyncio.gather(*(c.aclose(0.3) for c in conns), return_exceptions=True)


def machine_busy_s() -> float:
    """CPU seconds all cores spent running anything (user, nice, system, irq, softirq)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


async def m_concurrent(args, target: Target, state: State, cpu_target: ProcTarget | None,
                       tmpl: CallTemplate) -> dict:
    C, F, D = args.clients, args.inflight, args.duration
    W = max(1, min(C, args.workers or min(C, os.cpu_count() or 1)))
    per = [C // W + (1 if i < C % W else 0) for i in range(W)]
    ctx = mp.get_context("spawn")
    procs, pipes = [], []
    try:
        for w, nc in enumerate(per):
            a, b = ctx.Pipe()
            p = ctx.Process(target=concurrent_worker, name=f"openclaw-bench-worker-{w}", daemon=True,
                            args=(w, nc, F, target, tmpl, args.client, args.timeout, not args.no_uvloop, b))
            p.start()
            b.close()
            procs.append(p)
            pipes.append(a)
            state.workers.append(p)

        async def recv(a, t):
            try:
                return await pipe_recv(a, t)
            except EOFError:
                return ("error", "worker exited unexpectedly")

        readies = await asyncio.gather(*(recv(a, 60 + args.timeout) for a in pipes))
        bad = [r[1] if r[0] == "error" else r[2] for r in readies if r[0] != "ready" or r[2]]
        if bad:
            raise BenchError(f"client setup failed: {bad[0]}")
        start = time.monotonic() + 0.2
        rec_from = start + args.concurrent_warmup
        stop = rec_from + D
        for a in pipes:
            a.send(("go", start, rec_from, stop))
        srv_cpu = busy = None
        if psutil is not None:
            await asyncio.sleep(max(0.0, rec_from - time.monotonic()))
            sp = cpu_target.procs() if cpu_target is not None else []
            c0, b0 = cpu_of(sp), machine_busy_s()
            await asyncio.sleep(max(0.0, stop - time.monotonic()))
            busy = machine_busy_s() - b0
            srv_cpu = cpu_of(sp) - c0 if cpu_target is not None else None
        results = await asyncio.gather(*(recv(a, stop - time.monotonic() + args.timeout + 30) for a in pipes))
    finally:
        for a in pipes:
            a.close()
        for p in procs:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
                p.join(timeout=2)
            if p.is_alive():
                p.kill()
                p.join(timeout=2)
        state.workers = [p for p in state.workers if p not in procs]
    lat = array("d")
    errors = unfinished = 0
    firsts, fails = [], []
    cpu_s = 0.0
    for r in results:
        if r[0] != "done":
            fails.append(r[1])
            continue
        d = r[1]
        lat.frombytes(d["lat"])
        errors += d["errors"]
        unfinished += d["unfinished"]
        cpu_s += d["cpu_s"]
        fails += d["failures"]
        if d["first_error"]:
            firsts.append(d["first_error"])
    n = len(lat)
    out = {"method": tmpl.method, "clients": C, "inflight_per_client": F, "duration_s": D,
           "warmup_s": args.concurrent_warmup, "client_processes": W, "client_kind": args.client, "completed": n,
           "concurrent_calls_per_s": round(n / D, 1) if n else None, "errors": errors, "unfinished_at_end": unfinished,
           **{k.replace("conc_", "concurrent_"): v for k, v in lat_summary(list(lat), "conc").items()},
           "client_cpu_cores": round(cpu_s / D, 2),
           "server_cpu_cores": round(srv_cpu / D, 2) if srv_cpu is not None else None,
           "server_cpu_target": cpu_target.label if cpu_target is not None else None,
           "machine_busy_cores": round(busy / D, 2) if busy is not None else None,
           "cpu_count": os.cpu_count(), "note": NOTE_SHARED}
    problems = []
    if fails:
        problems.append(f"{len(fails)} client failure(s); first: {fails[0]}")
    if errors:
        problems.append(f"{errors} {tmpl.method} calls failed; first: {firsts[0] if firsts else '?'}")
    if problems:
        out["error"] = "; ".join(problems)
    return out


async def m_idle(args, target: Target, opener, mem: ProcTarget | None) -> dict:
    K = args.idle
    soft = raise_nofile(K + 256)
    note = None
    if soft != resource.RLIM_INFINITY and soft < K + 64:
        K = max(1, soft - 64)
        note = f"RLIMIT_NOFILE hard limit {soft}: reduced to {K} connections"
    if mem is not None:
        await asyncio.sleep(args.idle_settle / 2)
        before = mem.rss()
    sem = asyncio.Semaphore(args.idle_parallel)
    conns: list = []
    fails: list = []

    async def one():
        async with sem:
            try:
                c, _, _ = await opener(target, args.timeout)
                conns.append(c)
            except Exception as e:
                fails.append(f"{type(e).__name__}: {e}")

    t0 = perf_counter()
    try:
        await asyncio.gather(*(one() for _ in range(K)))  # returns once every hello-ok arrived (or failed)
        open_s = perf_counter() - t0
        await asyncio.sleep(args.idle_settle)
        alive = sum(1 for c in conns if conn_is_open(c))
        after = mem.rss() if mem is not None else None
    finally:
        csem = asyncio.Semaphore(args.idle_parallel)

        async def close(c):
            async with csem:
                await c.aclose(0.5)

        await asyncio.gather(*(close(c) for c in conns), return_exceptions=True)
    out = {"requested": args.idle, "opened": len(conns), "alive_at_sample": alive, "failed": len(fails),
           "open_all_s": round(open_s, 3), "memory_target": mem.label if mem else None}
    if note:
        out["note"] = note
    if mem is not None:
        await asyncio.sleep(args.idle_settle)
        closed_rss = mem.rss()
        out.update({"rss_before_mib": round(before / 1048576, 2), "rss_with_idle_mib": round(after / 1048576, 2),
                    "rss_after_close_mib": round(closed_rss / 1048576, 2)})
        if alive:
            out["idle_kib_per_conn"] = round((after - before) / 1024 / alive, 2)
    else:
        out["error"] = "no process to sample: pass --pid PID or --start-cmd (listener auto-detection found none)"
    if fails:
        out["error"] = f"{len(fails)}/{K} connections failed; first: {fails[0]}"
    elif alive < len(conns):
        out["error"] = f"only {alive}/{len(conns)} connections were still open when sampled"
    return out


# --------------------------------------------------------------------------- routed-path comparison

CHAIN_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "minimal_chain.py")
ROUTED_METHOD = "sessions.list"
# key -> (label, where, method); measured in this order, once per repeat
COMPARE_ROWS = {
    "gateway_health": ("(a) gateway health", "gateway", "health"),
    "gateway_routed": (f"(b) gateway {ROUTED_METHOD}", "gateway", ROUTED_METHOD),
    "chain_routed": (f"(c) minimal chain {ROUTED_METHOD}", "chain", ROUTED_METHOD),
    "tuned_routed": (f"(d) tuned chain {ROUTED_METHOD}", "tuned", ROUTED_METHOD),
}


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_chain(args, state: State, tuned: bool = False) -> Target:
    """Spawn minimal_chain.py on a free loopback port (own process group); return once it answers."""
    port = free_loopback_port()
    fd, log = tempfile.mkstemp(prefix="openclaw-bench-chain-", suffix=".log")
    with os.fdopen(fd, "wb") as logf:
        argv = [sys.executable, CHAIN_SCRIPT, "--port", str(port), "--parent", str(os.getpid())]
        proc = subprocess.Popen(argv + (["--tuned"] if tuned else []), stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True)
    state.chains.append((proc, log))
    chain = Target(f"ws://127.0.0.1:{port}/", args.token, args.password)
    deadline = perf_counter() + 20
    while True:
        rc = proc.poll()
        if rc is not None:
            raise BenchError(f"minimal chain exited with code {rc}{log_tail(log, what='chain')}")
        try:
            conn, _, _ = await raw_open(chain, 1.0)
            await conn.aclose()
            return chain
        except (OSError, TimeoutError, HandshakeError) as e:
            if perf_counter() > deadline:
                raise BenchError(f"minimal chain not ready within 20 s: {e}{log_tail(log, what='chain')}")
        await asyncio.sleep(0.05)


def stop_chain(state: State) -> None:
    """SIGTERM each chain's front (it stops its worker); then kill whatever is left of its group."""
    while state.chains:
        proc, log = state.chains.pop()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        try:
            os.unlink(log)
        except OSError:
            pass


async def probe_call(target: Target, tmpl: CallTemplate, timeout: float, patience: float = 10.0) -> None:
    """One successful call before measuring, so that a refused method (scope, unknown) fails clearly.
    Failures are retried for `patience` s: a freshly started gateway may still wait for its worker."""
    deadline = perf_counter() + patience
    while True:
        conn, _, _ = await raw_open(target, timeout)
        try:
            err, first = await run_calls_on(conn, tmpl, 1, 1, 0, float("-inf"), float("inf"), [],
                                            stall_timeout=timeout)
        finally:
            await conn.aclose()
        if not err:
            return
        if perf_counter() > deadline:
            raise BenchError(f"{tmpl.method} on {target.url} failed: {first}")
        await asyncio.sleep(0.2)


async def background_busy_cores(seconds: float = 1.0) -> float | None:
    """Cores busy with other work (nothing of ours is running) -- the noise floor of the comparison."""
    if psutil is None:
        return None
    b0 = machine_busy_s()
    await asyncio.sleep(seconds)
    return round((machine_busy_s() - b0) / seconds, 2)


def median_of(runs: list, key: str):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(vals), 3) if vals else None


def summarize_row(label: str, method: str, runs: list) -> dict:
    rate = median_of(runs, "concurrent_calls_per_s")
    front = median_of(runs, "server_cpu_cores")
    row = {"label": label, "method": method, "calls_per_s": rate, "p99_ms": median_of(runs, "concurrent_p99_ms"),
           "p50_ms": median_of(runs, "concurrent_p50_ms"), "front_cpu_cores": front,
           "client_cpu_cores": median_of(runs, "client_cpu_cores"),
           "machine_busy_cores": median_of(runs, "machine_busy_cores"),
           "front_cpu_us_per_call": round(front * 1e6 / rate, 1) if front and rate else None,
           "runs_calls_per_s": [r.get("concurrent_calls_per_s") for r in runs],
           "runs_p99_ms": [r.get("concurrent_p99_ms") for r in runs],
           "errors": sum(r.get("errors", 0) for r in runs)}
    failed = [r["error"] for r in runs if r.get("error")]
    if failed:
        row["error"] = f"{len(failed)} of {len(runs)} runs had errors; first: {failed[0]}"
    return row


async def m_compare(args, target: Target, state: State) -> dict:
    """(a) health and (b) sessions.list on the gateway, (c) sessions.list on the minimal chain:
    `concurrent` each, interleaved a, b, c per repeat; medians of the repeats."""
    routed = CallTemplate(ROUTED_METHOD, args.params_json or b"{}")
    tmpls = {"health": HEALTH, ROUTED_METHOD: routed}
    targets = {"gateway": target}
    cpu = {"gateway": resolve_proc_target(args, state, target, frontend=True) if psutil else None}
    try:
        targets["chain"] = await start_chain(args, state)
        targets["tuned"] = await start_chain(args, state, tuned=True)
        cpu["chain"] = listener_target(targets["chain"]) if psutil else None
        cpu["tuned"] = listener_target(targets["tuned"]) if psutil else None
        for _, where, method in COMPARE_ROWS.values():
            await probe_call(targets[where], tmpls[method], args.timeout)
        background = [await background_busy_cores()]
        runs: dict = {key: [] for key in COMPARE_ROWS}
        for _ in range(args.repeats):
            for key, (_, where, method) in COMPARE_ROWS.items():
                runs[key].append(await m_concurrent(args, targets[where], state, cpu[where], tmpls[method]))
        background.append(await background_busy_cores())
    finally:
        stop_chain(state)
    rows = {key: summarize_row(label, method, runs[key]) for key, (label, _, method) in COMPARE_ROWS.items()}
    gw, ref, tuned = (rows[k]["calls_per_s"] for k in ("gateway_routed", "chain_routed", "tuned_routed"))
    pairs = zip(rows["gateway_routed"]["runs_calls_per_s"], rows["chain_routed"]["runs_calls_per_s"])
    tuned_pairs = zip(rows["gateway_routed"]["runs_calls_per_s"], rows["tuned_routed"]["runs_calls_per_s"])
    out = {"repeats": args.repeats, "clients": args.clients, "inflight_per_client": args.inflight,
           "duration_s": args.duration, "client_kind": args.client, "chain_url": targets["chain"].url,
           "params": routed.params_json.decode(), "rows": rows,
           "routed_ratio": round(gw / ref, 3) if gw and ref else None,
           "routed_ratio_per_repeat": [round(b / c, 3) if b and c else None for b, c in pairs],
           "routed_ratio_tuned": round(gw / tuned, 3) if gw and tuned else None,
           "routed_ratio_tuned_per_repeat": [round(b / d, 3) if b and d else None for b, d in tuned_pairs],
           "background_busy_cores_before_after": background, "note": NOTE_SHARED}
    errors = [f"{r['label']}: {r['error']}" for r in rows.values() if r.get("error")]
    if errors:
        out["error"] = "; ".join(errors)
    return out


def compare_lines(c: dict) -> list:
    title = (f"routed-path comparison: {c['clients']} clients x {c['inflight_per_client']} in flight, "
             f"{c['duration_s']:g} s each, median of {c['repeats']} interleaved runs; chain {c['chain_url']}")
    head = f"{'':34}  {'calls/s':>9}  {'p99 ms':>7}  {'front CPU':>9}  {'us/call':>7}  {'busy':>5}  runs (calls/s)"
    lines = [title, head]
    for r in c["rows"].values():
        runs = " / ".join(f"{v:,.0f}" if v is not None else "-" for v in r["runs_calls_per_s"])
        lines.append(f"{r['label']:<34}  {_num(r['calls_per_s'], ',.0f'):>9}  {_num(r['p99_ms'], '.2f'):>7}  "
                     f"{_num(r['front_cpu_cores'], '.2f'):>9}  {_num(r['front_cpu_us_per_call'], '.1f'):>7}  "
                     f"{_num(r['machine_busy_cores'], '.2f'):>5}  {runs}")
    per_repeat = " / ".join(_num(v, ".2f") for v in c["routed_ratio_per_repeat"])
    lines.append(f"ratio (b)/(c) = {_num(c['routed_ratio'], '.3f')}x of the medians (target >= 0.8x); "
                 f"per repeat: {per_repeat}")
    per_repeat = " / ".join(_num(v, ".2f") for v in c.get("routed_ratio_tuned_per_repeat", []))
    lines.append(f"ratio (b)/(d) = {_num(c.get('routed_ratio_tuned'), '.3f')}x of the medians (target >= 0.8x); "
                 f"per repeat: {per_repeat}")
    lines.append("front CPU = cores used by the process on the port, us/call = its CPU per call, "
                 "busy = whole machine")
    bg = c["background_busy_cores_before_after"]
    noisy = any(v is not None and v > 0.2 for v in bg)
    lines.append(f"background load (cores busy while idle, before/after): {' / '.join(_num(v, '.2f') for v in bg)}"
                 + ("  WARNING: something else is using the CPU, figures are noisy" if noisy else ""))
    return lines


def _num(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


# --------------------------------------------------------------------------- orchestration


async def measure(report: dict, name: str, coro, timeout: float) -> dict | None:
    t0 = perf_counter()
    try:
        async with asyncio.timeout(timeout):
            res = await coro
        res = dict(res)
        res["ok"] = "error" not in res
    except TimeoutError as e:
        res = {"ok": False, "error": str(e) or f"measurement timed out after {timeout:.0f} s"}
    except BenchError as e:
        res = {"ok": False, "error": str(e)}
    except Exception as e:  # noqa: BLE001 - one failing measurement must not stop the others
        res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    res["elapsed_s"] = round(perf_counter() - t0, 3)
    report["results"][name] = res
    return res


def resolve_proc_target(args, state: State, target: Target, frontend: bool) -> ProcTarget | None:
    if args.pid:
        return ProcTarget(f"pid {args.pid} (--pid)", pids=[args.pid])
    if state.proc is not None and psutil is not None:
        if frontend:
            fe = find_frontend(state.proc.pid)
            if fe is not None:
                return ProcTarget(f"front-end pid {fe.pid} ({_pname(fe)})", pids=[fe.pid])
        return ProcTarget(f"spawned process tree (root pid {state.proc.pid})", tree_root=state.proc.pid)
    return listener_target(target)


def listener_target(target: Target) -> ProcTarget | None:
    pids = listener_pids(target.port)
    if pids:
        return ProcTarget(f"listener pid(s) {','.join(map(str, pids))} on port {target.port} (auto-detected)",
                          pids=pids)
    return None


async def run_all(args, target: Target, state: State, report: dict) -> None:
    sel = args.selected
    opener = get_opener(args.client)
    if args.start_cmd:
        res = await measure(report, "startup",
                            m_startup(args, target, state, opener, "startup" in sel),
                            args.startup_timeout + args.rss_delay + 30)
        if not state.ready:
            for name in sel:
                if name != "startup":
                    report["results"][name] = {"ok": False, "error": "skipped: the spawned server never became ready"}
            return
        if "startup" not in sel:
            report["results"].pop("startup", None)
    else:
        if "startup" in args.only_explicit:
            report["results"]["startup"] = {"ok": False, "error": "startup needs --start-cmd"}
        if not await tcp_port_open(target):
            for name in sel:
                if name != "startup":
                    report["results"][name] = {"ok": False, "error": f"nothing is listening on {target.hostport}"}
            return
    try:
        report["http_health"] = await http_health(target)
    except Exception as e:  # noqa: BLE001
        report["http_health"] = {"error": f"{type(e).__name__}: {e}"}

    if "handshake" in sel:
        await measure(report, "handshake", m_handshake(args, target, opener),
                      30 + (args.handshakes + args.handshake_warmup) * 0.1)
    if "health" in sel:
        await measure(report, "health", m_health(args, target, opener),
                      30 + (args.health_calls + args.health_warmup) * 0.02)
    if "concurrent" in sel:
        cpu_t = resolve_proc_target(args, state, target, frontend=False) if psutil else None
        await measure(report, "concurrent", m_concurrent(args, target, state, cpu_t, args.template),
                      args.duration + args.concurrent_warmup + args.timeout + 120)
    if "idle" in sel:
        mem = resolve_proc_target(args, state, target, frontend=True) if psutil else None
        await measure(report, "idle", m_idle(args, target, opener, mem), 60 + args.idle * 0.05 + 3 * args.idle_settle)
    if "compare_routed" in sel:
        per_run = args.duration + args.concurrent_warmup + args.timeout + 60
        await measure(report, "compare_routed", m_compare(args, target, state),
                      60 + args.repeats * len(COMPARE_ROWS) * per_run)
    if state.proc is not None and "startup" in sel:
        await measure(report, "shutdown", m_sigterm(args, state), args.term_timeout + 10)


def check_spec(key: str, method: str) -> tuple:
    """CHECKS[key], with the concurrent rows named after the method (the target applies to health only)."""
    label, cmp, target, unit = CHECKS[key]
    if CHECK_GROUP[key] == "concurrent" and method != "health":
        label, cmp, target = label.replace("health", method, 1), None, None
    return label, cmp, target, unit


def build_checks(report: dict) -> list:
    checks = []
    for key in CHECKS:
        label, cmp, target, unit = check_spec(key, report["method"])
        res = report["results"].get(CHECK_GROUP[key])
        if res is None:
            continue
        val = res.get(key)
        row = {"name": key, "label": label, "value": val, "unit": unit, "measurement": CHECK_GROUP[key]}
        if cmp is not None:
            row["target"] = f"{cmp} {target:,g} {unit}"
            if isinstance(val, (int, float)) and not (isinstance(val, float) and math.isnan(val)):
                row["pass"] = val <= target if cmp == "<=" else val >= target
            else:
                row["pass"] = None
        else:
            row["target"] = "report only"
        checks.append(row)
    return checks


def _fmt(v, unit) -> str:
    if v is None:
        return "-"
    if unit == "calls/s":
        return f"{v:,.0f} {unit}"
    if unit == "x":
        return f"{v:.3f}{unit}"
    if isinstance(v, float):
        s = f"{v:.3f}" if abs(v) < 10 else (f"{v:.1f}" if abs(v) < 1000 else f"{v:,.0f}")
        return f"{s} {unit}"
    return f"{v} {unit}"


def print_human(report: dict, args) -> None:
    r = report["results"]
    cpu = os.cpu_count()
    print(f"OpenClaw gateway benchmark: {report['url']}  (client: {report['client']}"
          f"{', uvloop' if report['uvloop'] else ''}; {cpu} CPU cores)")
    print(f"NOTE: {NOTE_SHARED}.")
    if report.get("start_cmd"):
        print(f"spawned: {report['start_cmd']}")
    hh = report.get("http_health")
    if hh:
        print(f"HTTP GET /health: {hh.get('status') or hh.get('error')} {hh.get('body', '')}".rstrip())
    print()
    rows = [("measurement", "value", "target", "result"), ("-" * 34, "-" * 16, "-" * 18, "------")]
    for c in report["checks"]:
        res = r.get(c["measurement"], {})
        if c["value"] is None and res.get("error"):
            rows.append((c["label"], "ERROR", c["target"], "ERR" if "pass" in c else ""))
            continue
        mark = "" if "pass" not in c else ("PASS" if c["pass"] else ("MISS" if c["pass"] is False else "n/a"))
        rows.append((c["label"], _fmt(c["value"], c["unit"]), c["target"], mark))
    for name in REPORTED:
        if name in r and not any(c["measurement"] == name for c in report["checks"]) and r[name].get("error"):
            rows.append((name, "ERROR", "", ""))
    for a, b, c, d in rows:
        print(f"{a:<34}  {b:>16}  {c:<18}  {d}")
    print()
    det = []
    if "startup" in r and r["startup"].get("ok") is not None:
        s = r["startup"]
        if "connect_attempts" in s:
            det.append(f"startup: {s['connect_attempts']} connect attempts ({s['attempts_refused_or_timed_out']} refused/"
                       f"timed out, {s['attempts_rejected']} rejected), pid {s['spawned_pid']}, {s['spawn_mode']}")
        for p in s.get("tree_processes", []):
            det.append(f"  pid {p['pid']:>7}  {p['rss_mib']:>8.2f} MiB  {p['name']}")
    if "handshake" in r and "handshake_p50_ms" in r["handshake"]:
        h = r["handshake"]
        det.append(f"handshake: n={h['handshakes']} (+{h['warmup']} warm-up)  p90 {h['handshake_p90_ms']:.3f} ms  "
                   f"max {h['handshake_max_ms']:.3f} ms")
    if "health" in r and "health_p50_ms" in r["health"]:
        h = r["health"]
        det.append(f"health: n={h['calls']} (+{h['warmup']} warm-up)  p90 {h['health_p90_ms']:.3f} ms  "
                   f"mean {h['health_mean_ms']:.3f} ms  errors {h['errors']}")
    if "concurrent" in r and "completed" in r["concurrent"]:
        c = r["concurrent"]
        det.append(f"concurrent {c['method']}: {c['clients']} clients x {c['inflight_per_client']} in flight over "
                   f"{c['client_processes']} client processes, {c['duration_s']:g} s (+{c['warmup_s']:g} s warm-up): "
                   f"{c['completed']} calls, p50 {_fmt(c['concurrent_p50_ms'], 'ms')}, errors {c['errors']}")
        det.append(f"  CPU during window: client {c['client_cpu_cores']} cores, server "
                   f"{c['server_cpu_cores'] if c['server_cpu_cores'] is not None else '?'} cores "
                   f"({c['server_cpu_target'] or 'not sampled'}), whole machine busy "
                   f"{c['machine_busy_cores'] if c['machine_busy_cores'] is not None else '?'} of {c['cpu_count']} "
                   f"shared cores")
    if "idle" in r and "opened" in r["idle"]:
        i = r["idle"]
        line = f"idle: {i['opened']}/{i['requested']} opened in {i['open_all_s']:.2f} s; sampled {i['memory_target']}"
        if "rss_before_mib" in i:
            line += (f"; RSS {i['rss_before_mib']} -> {i['rss_with_idle_mib']} MiB"
                     f" (after close {i['rss_after_close_mib']} MiB)")
        det.append(line)
    if "shutdown" in r and "exited" in r["shutdown"]:
        s = r["shutdown"]
        det.append(f"SIGTERM: exit code {s['exit_code']}; descendants alive at exit: "
                   f"{s['descendants_alive_at_exit'] or 'none'}; 0.5 s later: {s['descendants_alive_0_5s_later'] or 'none'}")
    if "compare_routed" in r and "rows" in r["compare_routed"]:
        det += compare_lines(r["compare_routed"])
    for name in REPORTED:
        if name in r and r[name].get("error"):
            det.append(f"ERROR {name}: {r[name]['error']}")
    for line in det:
        print(line)
    if report.get("interrupted"):
        print("INTERRUPTED: results are partial")


def parse_args(argv=None):
    cpu = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        prog="bench.py",
        description="Benchmark an OpenClaw Gateway (WebSocket + HTTP on one port). Loopback URLs only.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=("targets: start->hello-ok <= 600 ms; tree RSS <= 150 MiB; handshake p50 <= 0.9 ms;\n"
                "         health p50 <= 0.5 ms; concurrent >= 15,000 calls/s; idle <= 20 KiB/conn;\n"
                "         SIGTERM->exit report only.\n"
                "exit status: 0 ran, 1 a measurement failed, 2 bad arguments/URL, 3 --strict and a target\n"
                "             was missed, 130 interrupted.\n"
                "examples:\n"
                "  python ops/bench/bench.py --url ws://127.0.0.1:18789 --token T\n"
                "  python ops/bench/bench.py --url ws://127.0.0.1:19001 --token T \\\n"
                "      --start-cmd 'openclaw gateway --port 19001 --allow-unconfigured --token T'\n"))
    p.add_argument("--url", default="ws://127.0.0.1:18789", help="gateway URL (default %(default)s)")
    p.add_argument("--token", default=os.environ.get("OPENCLAW_GATEWAY_TOKEN"),
                   help="shared token for connect (default: $OPENCLAW_GATEWAY_TOKEN)")
    p.add_argument("--password", default=os.environ.get("OPENCLAW_GATEWAY_PASSWORD"),
                   help="shared password, used when no token is given (default: $OPENCLAW_GATEWAY_PASSWORD)")
    p.add_argument("--only", default=None,
                   help=f"comma list of {','.join(MEASUREMENTS)} (default: all that apply)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--strict", action="store_true", help="exit with status 3 when any target is missed")
    p.add_argument("--client", choices=("raw", "websockets"), default="raw",
                   help="client implementation (default raw: minimal asyncio protocol; websockets = cross-check)")
    p.add_argument("--no-uvloop", action="store_true", help="use the default asyncio loop even if uvloop exists")
    p.add_argument("--timeout", type=float, default=5.0, help="per-operation timeout in s (default %(default)s)")
    g = p.add_argument_group("startup (needs --start-cmd)")
    g.add_argument("--start-cmd", help="shell command that starts the gateway on --url's port")
    g.add_argument("--start-log", help="keep the spawned server's stdout/stderr in this file")
    g.add_argument("--startup-timeout", type=float, default=60.0, help="max s to first hello-ok (default %(default)s)")
    g.add_argument("--poll-interval", type=float, default=0.005, help="s between connect attempts (default %(default)s)")
    g.add_argument("--rss-delay", type=float, default=5.0, help="sample tree RSS this many s after ready (default %(default)s)")
    g.add_argument("--term-timeout", type=float, default=10.0, help="max s to wait for exit after SIGTERM (default %(default)s)")
    g = p.add_argument_group("sizes")
    g.add_argument("--handshakes", type=int, default=300, help="sequential handshakes (default %(default)s)")
    g.add_argument("--handshake-warmup", type=int, default=10, help="untimed warm-up handshakes (default %(default)s)")
    g.add_argument("--health-calls", type=int, default=2000, help="sequential health calls (default %(default)s)")
    g.add_argument("--health-warmup", type=int, default=200, help="warm-up health calls (default %(default)s)")
    g.add_argument("--clients", "-C", type=int, default=8, help="concurrent clients (default %(default)s)")
    g.add_argument("--inflight", "-F", type=int, default=4, help="calls in flight per client (default %(default)s)")
    g.add_argument("--duration", "-D", type=float, default=5.0, help="concurrent run seconds (default %(default)s)")
    g.add_argument("--concurrent-warmup", type=float, default=0.5, help="untimed s before the window (default %(default)s)")
    g.add_argument("--workers", "-W", type=int, default=0,
                   help=f"client processes for concurrent (default min(C, cpu_count)={min(8, cpu)} here)")
    g.add_argument("--idle", "-K", type=int, default=1000, help="idle connections (default %(default)s)")
    g.add_argument("--idle-parallel", type=int, default=64, help="handshakes in parallel while opening idle conns")
    g.add_argument("--idle-settle", type=float, default=1.0, help="s to settle before sampling RSS (default %(default)s)")
    g.add_argument("--pid", type=int, help="gateway front-end PID to sample for the idle measurement")
    g = p.add_argument_group("method for the concurrent measurement")
    g.add_argument("--method", default="health", help="method called by `concurrent` (default %(default)s)")
    g.add_argument("--params", help="its params as JSON (default: none sent), e.g. '{}'")
    g = p.add_argument_group("routed-path comparison")
    g.add_argument("--compare-routed", action="store_true",
                   help=f"instead of the measurements: concurrent health and {ROUTED_METHOD} on --url, and "
                        f"{ROUTED_METHOD} on a freshly started minimal_chain.py; ratio target >= 0.8x")
    g.add_argument("--repeats", type=int, default=3,
                   help="--compare-routed runs each measurement this many times, reports medians (default %(default)s)")
    args = p.parse_args(argv)
    args.params_json = None
    if args.params is not None:
        try:
            args.params_json = json.dumps(json.loads(args.params), separators=(",", ":")).encode()
        except ValueError as e:
            p.error(f"--params is not valid JSON: {e}")
    args.template = CallTemplate(args.method, args.params_json)
    if args.compare_routed:
        if args.only or args.method != "health":
            p.error(f"--compare-routed always measures health and {ROUTED_METHOD}; drop --only/--method")
        args.selected = ["compare_routed"]
        args.only_explicit = set()
    elif args.only:
        names = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [n for n in names if n not in MEASUREMENTS]
        if unknown:
            p.error(f"unknown measurement(s) in --only: {','.join(unknown)}")
        args.selected = [n for n in MEASUREMENTS if n in names]
        args.only_explicit = set(names)
    else:
        args.selected = [n for n in MEASUREMENTS if n != "startup" or args.start_cmd]
        args.only_explicit = set()
    for name in ("handshakes", "health_calls", "clients", "inflight", "idle", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.duration <= 0:
        p.error("--duration must be > 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        target = Target(args.url, args.token, args.password)
    except BenchError as e:
        print(f"bench.py: error: {e}", file=sys.stderr)
        return 2
    if (args.start_cmd or "idle" in args.selected or args.pid) and psutil is None:
        print("bench.py: warning: psutil not importable; RSS/CPU figures unavailable", file=sys.stderr)
    report = {"bench": "openclaw-gateway", "url": target.url, "client": args.client,
              "uvloop": bool(uvloop is not None and not args.no_uvloop), "cpu_count": os.cpu_count(),
              "python": sys.version.split()[0], "note": NOTE_SHARED, "start_cmd": args.start_cmd,
              "selected": args.selected, "method": args.template.method, "results": {}}
    state = State()

    def on_term(signum, frame):
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, on_term)
    factory = uvloop.new_event_loop if (uvloop is not None and not args.no_uvloop) else None
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(run_all(args, target, state, report))
    except KeyboardInterrupt:
        report["interrupted"] = True
    finally:
        try:
            for p in state.workers:
                if p.is_alive():
                    p.kill()
            stop_chain(state)
            kill_spawned(state)
        finally:
            signal.signal(signal.SIGTERM, old_term)
    report["checks"] = build_checks(report)
    scored = [c for c in report["checks"] if "pass" in c]
    report["all_pass"] = bool(scored) and all(c["pass"] for c in scored)
    if args.json:
        print(json.dumps(report, indent=None, separators=(",", ":")))
    else:
        print_human(report, args)
    if report.get("interrupted"):
        return 130
    if any(v.get("error") for v in report["results"].values()):
        return 1
    if args.strict and any(c.get("pass") is False for c in report["checks"]):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
