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


def spawn_worker(endpoint: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", endpoint,
                             "--parent", str(os.getpid())], stdin=subprocess.DEVNULL)


async def front_main(host: str, port: int, parent_pid: int | None) -> None:
    tmp = tempfile.mkdtemp(prefix="openclaw-minimal-chain-")
    endpoint = f"ipc://{tmp}/worker.sock"
    worker = spawn_worker(endpoint)
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
    args = p.parse_args(argv)
    if args.worker:
        run(worker_main(args.worker, args.parent))
    elif args.port is None:
        p.error("--port is required")
    else:
        run(front_main(args.host, args.port, args.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
