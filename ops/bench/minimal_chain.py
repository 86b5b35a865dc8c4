#!/usr/bin/env python3
"""Reference chain for the gateway's routed path: WebSocket -> front -> ZeroMQ -> worker -> back.

The simplest honest version a competent engineer would write first, used by
`bench.py --compare-routed` as the yardstick for worker-routed methods such as `sessions.list`:

  front   aiohttp WebSocket server (uvloop when importable). On open it sends `connect.challenge`,
          answers the first `connect` with a small `hello-ok` (no auth check), answers `health`
          locally from a cached payload, and forwards every other request to the worker: one asyncio
          task per request, a dict of pending futures keyed by call id, a zmq.asyncio DEALER.
  worker  a zmq.asyncio ROUTER on an ipc:// endpoint in a private temp dir: decodes the call
          (msgpack via msgspec), builds a sessions.list-like payload, encodes it and replies.

`--tuned` runs the same chain written with the techniques a tuned implementation uses (the
gateway's among them): no task or future per call but a table of pending calls answered from the
reply callback, plain ZeroMQ sockets driven by the loop's reader callback (drained to EAGAIN, no
future per message), and response frames written straight to the transport. It is the stricter
yardstick: the gateway's routed path should reach 0.8x of it too.

Run `python ops/bench/minimal_chain.py --port P` (loopback only); SIGTERM/SIGINT stops both
processes and removes the temp dir. The worker exits if the front disappears, and so does the front
with `--parent PID` if that process (bench.py passes its own PID) disappears.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import msgspec
import zmq
import zmq.asyncio
from aiohttp import WSMsgType, web

try:
    import uvloop  # type: ignore
except ImportError:  # pragma: no cover
    uvloop = None

HELLO_PAYLOAD = {
    "type": "hello-ok", "protocol": 4, "server": {"version": "ref", "connId": "x"},
    "features": {"methods": [], "events": []}, "snapshot": {},
    "auth": {"role": "operator", "scopes": ["operator.read"]},
    "policy": {"maxPayload": 26214400, "maxBufferedBytes": 52428800, "tickIntervalMs": 30000},
}
HEALTH_PAYLOAD = {"ok": True, "status": "live", "durationMs": 0}
LOOPBACK = ("127.0.0.1", "::1")


class Request(msgspec.Struct):
    """Inbound WebSocket frame: {"type":"req","id":...,"method":...,"params":...}."""
    type: str
    id: str | int | None = None
    method: str = ""
    params: msgspec.Raw = msgspec.Raw(b"null")


class Response(msgspec.Struct):
    type: str
    id: str | int | None
    ok: bool
    payload: msgspec.Raw


class Call(msgspec.Struct, array_like=True):
    """Front -> worker: params stay the client's JSON bytes."""
    id: int
    method: str
    params: bytes


class Reply(msgspec.Struct, array_like=True):
    """Worker -> front: payload is JSON bytes, spliced into the response unchanged."""
    id: int
    payload: bytes


# --------------------------------------------------------------------------- worker


def sessions_list_payload(params) -> dict:
    return {
        "ts": int(time.time() * 1000), "path": "/tmp/openclaw/agents/main/sessions/sessions.json",
        "count": 0, "totalCount": 0, "limitApplied": None, "nextOffset": None, "hasMore": False,
        "owners": [], "defaults": {"modelProvider": None, "model": None, "contextTokens": None},
        "sessions": [],
    }


async def worker_main(endpoint: str, parent_pid: int) -> None:
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    serve = asyncio.get_running_loop().create_task(serve_calls(sock))
    try:
        await wait_for_stop(parent_pid, serve)
    finally:
        serve.cancel()
        sock.close()
        ctx.term()


async def serve_calls(sock: zmq.asyncio.Socket) -> None:
    decode_call, encode = msgspec.msgpack.Decoder(Call).decode, msgspec.msgpack.encode
    json_decode, json_encode = msgspec.json.decode, msgspec.json.encode
    while True:
        identity, body = await sock.recv_multipart()
        call = decode_call(body)
        params = json_decode(call.params) if call.params else None
        payload = json_encode(sessions_list_payload(params))
        await sock.send_multipart((identity, encode(Reply(call.id, payload))))


async def parent_gone(parent_pid: int | None) -> None:
    if parent_pid is None:
        await asyncio.Event().wait()  # not watched: wait forever
    while os.getppid() == parent_pid:
        await asyncio.sleep(1.0)


async def stop_signal() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def wait_for_stop(parent_pid: int | None, *tasks: asyncio.Task) -> None:
    """Until SIGTERM/SIGINT, the parent going away (if watched), or one of `tasks` ending."""
    loop = asyncio.get_running_loop()
    waiters = [loop.create_task(stop_signal()), loop.create_task(parent_gone(parent_pid))]
    try:
        await asyncio.wait([*waiters, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


# --------------------------------------------------------------------------- front


class Front:
    def __init__(self, endpoint: str):
        self.ctx = zmq.asyncio.Context()
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.connect(endpoint)
        self.pending: dict[int, asyncio.Future] = {}
        self.next_id = 0
        self.tasks: set[asyncio.Task] = set()
        self.decode_req = msgspec.json.Decoder(Request).decode
        self.decode_reply = msgspec.msgpack.Decoder(Reply).decode
        self.health = msgspec.json.encode(HEALTH_PAYLOAD)
        self.hello = msgspec.json.encode(HELLO_PAYLOAD)

    async def read_replies(self) -> None:
        while True:
            reply = self.decode_reply(await self.dealer.recv())
            fut = self.pending.pop(reply.id, None)
            if fut is not None and not fut.done():
                fut.set_result(reply.payload)

    async def call_worker(self, method: str, params: bytes) -> bytes:
        self.next_id += 1
        call_id = self.next_id
        fut = asyncio.get_running_loop().create_future()
        self.pending[call_id] = fut
        try:
            await self.dealer.send(msgspec.msgpack.encode(Call(call_id, method, params)))
            return await fut
        finally:
            self.pending.pop(call_id, None)

    async def routed(self, ws: web.WebSocketResponse, req: Request) -> None:
        payload = await self.call_worker(req.method, bytes(req.params))
        await send_res(ws, req.id, payload)

    async def handle_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=26214400)
        await ws.prepare(request)
        challenge = {"type": "event", "event": "connect.challenge",
                     "payload": {"nonce": os.urandom(16).hex(), "ts": int(time.time() * 1000)}}
        await ws.send_frame(msgspec.json.encode(challenge), WSMsgType.TEXT)
        connected = False
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            req = self.decode_req(msg.data)
            if req.type != "req":
                continue
            if not connected:
                if req.method != "connect":
                    await ws.close(code=1008, message=b"connect first")
                    break
                connected = True
                await send_res(ws, req.id, self.hello)
            elif req.method == "health":
                await send_res(ws, req.id, self.health)
            else:
                task = asyncio.get_running_loop().create_task(self.routed(ws, req))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        return ws

    def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self.dealer.close()
        self.ctx.term()


async def send_res(ws: web.WebSocketResponse, req_id, payload: bytes) -> None:
    if ws.closed:
        return
    frame = msgspec.json.encode(Response("res", req_id, True, msgspec.Raw(payload)))
    await ws.send_frame(frame, WSMsgType.TEXT)


def spawn_worker(endpoint: str, tuned: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", endpoint,
                             "--parent", str(os.getpid()), *(["--tuned"] if tuned else [])], stdin=subprocess.DEVNULL)


async def front_main(host: str, port: int, parent_pid: int | None, tuned: bool = False) -> None:
    tmp = tempfile.mkdtemp(prefix="openclaw-minimal-chain-")
    endpoint = f"ipc://{tmp}/worker.sock"
    worker = spawn_worker(endpoint, tuned)
    if tuned:
        front: Front = TunedFront(endpoint)
        front.start()
        reader = asyncio.get_running_loop().create_task(asyncio.Event().wait())
    else:
        front = Front(endpoint)
        reader = asyncio.get_running_loop().create_task(front.read_replies())
    app = web.Application()
    app.router.add_get("/", front.handle_ws)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(f"minimal chain listening on ws://{host}:{port}/ (front pid {os.getpid()}, "
              f"worker pid {worker.pid})", flush=True)
        await wait_for_stop(parent_pid, reader)
    finally:
        reader.cancel()
        await runner.cleanup()
        front.close()
        stop_worker(worker)
        shutil.rmtree(tmp, ignore_errors=True)


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=3)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


# --------------------------------------------------------------------------- tuned variant


def text_frame(payload: bytes) -> bytes:
    """An unmasked WebSocket text frame (RFC 6455 §5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class ReaderSocket:
    """A plain zmq socket on the asyncio loop: the FD is edge-triggered, so drain to EAGAIN on every
    wake-up and look again after each send."""

    def __init__(self, sock: zmq.Socket, on_message) -> None:
        self.sock, self.on_message = sock, on_message
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(sock.getsockopt(zmq.FD), self.drain)
        self.loop.call_soon(self.drain)

    def drain(self) -> None:
        while True:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.on_message(frames)

    def send(self, frames) -> None:
        self.sock.send_multipart(frames, zmq.NOBLOCK)
        self.loop.call_soon(self.drain)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.getsockopt(zmq.FD))
        self.sock.close(0)


async def tuned_worker_main(endpoint: str, parent_pid: int) -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.bind(endpoint)
    decode_call, encode = msgspec.msgpack.Decoder(Call).decode, msgspec.msgpack.encode
    json_decode, json_encode = msgspec.json.decode, msgspec.json.encode

    def serve(frames) -> None:
        identity, body = frames
        call = decode_call(body)
        params = json_decode(call.params) if call.params else None
        sock.send((identity, encode(Reply(call.id, json_encode(sessions_list_payload(params))))))

    sock = ReaderSocket(router, serve)
    try:
        await wait_for_stop(parent_pid)
    finally:
        sock.close()
        ctx.term()


class TunedFront(Front):
    def __init__(self, endpoint: str):
        self.zctx = zmq.Context()
        dealer = self.zctx.socket(zmq.DEALER)
        dealer.connect(endpoint)
        self.dealer_sock = dealer
        self.calls: dict[int, tuple[asyncio.Transport, object]] = {}
        self.next_id = 0
        self.decode_req = msgspec.json.Decoder(Request).decode
        self.decode_reply = msgspec.msgpack.Decoder(Reply).decode
        self.health = msgspec.json.encode(HEALTH_PAYLOAD)
        self.hello = msgspec.json.encode(HELLO_PAYLOAD)
        self.tasks = set()

    def start(self) -> None:
        self.zsock = ReaderSocket(self.dealer_sock, self.on_reply)

    def on_reply(self, frames) -> None:
        reply = self.decode_reply(frames[0])
        call = self.calls.pop(reply.id, None)
        if call is not None and not call[0].is_closing():
            frame = msgspec.json.encode(Response("res", call[1], True, msgspec.Raw(reply.payload)))
            call[0].write(text_frame(frame))

    async def handle_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=26214400)
        await ws.prepare(request)
        transport = request.transport
        challenge = {"type": "event", "event": "connect.challenge",
                     "payload": {"nonce": os.urandom(16).hex(), "ts": int(time.time() * 1000)}}
        transport.write(text_frame(msgspec.json.encode(challenge)))
        connected = False
        encode_call = msgspec.msgpack.encode
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            req = self.decode_req(msg.data)
            if req.type != "req":
                continue
            if not connected:
                connected = True
                transport.write(text_frame(msgspec.json.encode(Response("res", req.id, True, msgspec.Raw(self.hello)))))
            elif req.method == "health":
                transport.write(text_frame(msgspec.json.encode(Response("res", req.id, True, msgspec.Raw(self.health)))))
            else:
                self.next_id += 1
                self.calls[self.next_id] = (transport, req.id)
                self.zsock.send((encode_call(Call(self.next_id, req.method, bytes(req.params))),))
        return ws

    def close(self) -> None:
        self.zsock.close()
        self.zctx.term()


# --------------------------------------------------------------------------- CLI


def run(coro) -> None:
    factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(coro)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Minimal WebSocket -> front -> ZeroMQ -> worker reference chain.")
    p.add_argument("--port", type=int, help="loopback port for the WebSocket server")
    p.add_argument("--host", default="127.0.0.1", choices=LOOPBACK, help="loopback address (default %(default)s)")
    p.add_argument("--worker", metavar="ENDPOINT", help=argparse.SUPPRESS)
    p.add_argument("--parent", type=int, help="exit when the process with this PID stops being our parent")
    p.add_argument("--tuned", action="store_true", help="the tuned variant (no task or future per call)")
    args = p.parse_args(argv)
    if args.worker:
        run((tuned_worker_main if args.tuned else worker_main)(args.worker, args.parent))
    elif args.port is None:
        p.error("--port is required")
    else:
        run(front_main(args.host, args.port, args.parent, args.tuned))
    return 0


if __name__ == "__main__":
    sys.exit(main())
