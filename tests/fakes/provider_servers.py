"""Fake model providers on 127.0.0.1 speaking the real wire formats (for tests and benches).

One `FakeProviderServer` answers every API on its own port, each on the path the real service uses:

* OpenAI Chat Completions  `POST /v1/chat/completions`   (SSE `data:` chunks, usage chunk, `[DONE]`;
  `stream:false` gets a `chat.completion` object)
* OpenAI Responses         `POST /v1/responses`          (typed SSE events `response.*`)
* Anthropic Messages       `POST /anthropic/v1/messages` and `/v1/messages` (message_start …
  message_stop, ping, error events)
* OpenAI embeddings        `POST /v1/embeddings`         (deterministic vectors)

Usage (sync or async tests alike: the server runs on its own event-loop thread):

    with FakeProviderServer() as fake:
        fake.push(Reply(text="Hi there"), Reply.rate_limited(retry_after="0"))
        config = fake.config("openai-completions")   # models.providers.fake + agents.defaults.model
        ... run something against config ...
        req = fake.wait_for_requests(1)[0]          # Recorded(path, headers, body, disconnected)
        assert req.body["stream"] is True

API:
* `FakeProviderServer(api_key="test-key", default=Reply())`; `.start()`/`.stop()` or `with`.
  `api_key=None` accepts any caller; otherwise a wrong key gets the API's 401 (Bearer for OpenAI,
  `x-api-key` for Anthropic, which also needs `anthropic-version`).
* `.port`, `.base_url(api)`: `http://127.0.0.1:<port>/v1` (OpenAI APIs, embeddings) or
  `http://127.0.0.1:<port>/anthropic` (anthropic-messages), i.e. what goes in `baseUrl`.
* `.provider_config(api, models=("fake-model",), **extra)` -> a `models.providers.<id>` entry;
  `.config(api, provider_id="fake", model="fake-model", fallbacks=())` -> `{"models":…, "agents":…}`;
  `.embedding_config(model="fake-embed")` -> `{"memory": {"search": …}}`.
* `.push(*replies)` queues replies (first pushed answers the next request, any route); when the
  queue is empty `.default` answers. `.set_default(reply)`.
* `.requests` (list of `Recorded`), `.wait_for_requests(n, timeout=5)`, `.wait_disconnected(timeout=5)`
  (True once a client dropped a streaming/hung response early), `.clear()`.

`Reply` fields: `text` (streamed split into words, or exact `chunks`), `tool_calls` ([{id?, name,
arguments: dict|str}], argument JSON streamed in 7-character fragments), `status` + `error` (+
`headers`, e.g. `Reply.rate_limited("2")` = 429 with Retry-After 2), `hang` ("headers": never answer;
"body": send headers then nothing; "mid": after the first text chunk), `chunk_delay_s`,
`stream_error` (an in-stream error event after the first chunk), `cut` (drop the connection after the
first chunk, no finish), `usage` ((input, output) tokens), `finish_reason`, `model`.

Subprocess mode (benches): `python -m tests.fakes.provider_servers [--port N] [--text T]
[--words N]` serves until killed and prints `READY <port>` on stdout when listening.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

__all__ = ["FakeProviderServer", "Recorded", "Reply"]


@dataclass
class Reply:
    text: str = "Hello from the fake provider."
    chunks: list[str] | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: str | None = None  # "headers" | "body" | "mid"
    chunk_delay_s: float = 0.0
    stream_error: str | None = None
    cut: bool = False
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    model: str | None = None

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1", message: str = "Rate limit reached") -> Reply:
        return cls(status=429, error=message, headers={"Retry-After": retry_after} if retry_after is not None else {})

    @classmethod
    def server_error(cls, status: int = 500, message: str = "upstream exploded") -> Reply:
        return cls(status=status, error=message)

    @classmethod
    def tools(cls, *calls: dict[str, Any], text: str = "") -> Reply:
        return cls(text=text, tool_calls=list(calls))

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        words = self.text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)] if self.text else []


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    disconnected: bool = False


class _LoopThread:
    """One background event loop shared by every fake server of the process."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="fake-providers", daemon=True).start()
                cls._loop = loop
            return cls._loop


def _sse(event: str | None, data: Any) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {payload}\n\n".encode()


def _fragments(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128.0, 6) for i in range(dims)]


class _Gone(Exception):
    """The client went away."""


class FakeProviderServer:
    def __init__(self, api_key: str | None = "test-key", default: Reply | None = None, embedding_dims: int = 8) -> None:
        self.api_key = api_key
        self.default = default or Reply()
        self.embedding_dims = embedding_dims
        self.requests: list[Recorded] = []
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        fut = asyncio.run_coroutine_threadsafe(self._start(), _LoopThread.loop())
        self.port = fut.result(10)
        return self

    async def _start(self, port: int = 0) -> int:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_post("/anthropic/v1/messages", self._anthropic)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), _LoopThread.loop()).result(10)
            self._runner = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ scripting / inspection

    def base_url(self, api: str = "openai-completions") -> str:
        if api == "anthropic-messages":
            return f"http://127.0.0.1:{self.port}/anthropic"
        return f"http://127.0.0.1:{self.port}/v1"

    def provider_config(self, api: str = "openai-completions", models: tuple[str, ...] = ("fake-model",),
                        **extra: Any) -> dict[str, Any]:
        conf: dict[str, Any] = {"baseUrl": self.base_url(api), "api": api,
                                "models": [{"id": m, "name": f"Fake {m}"} for m in models]}
        if self.api_key is not None:
            conf["apiKey"] = self.api_key
        conf.update(extra)
        return conf

    def config(self, api: str = "openai-completions", provider_id: str = "fake", model: str = "fake-model",
               fallbacks: tuple[str, ...] = ()) -> dict[str, Any]:
        primary = f"{provider_id}/{model}"
        return {
            "models": {"providers": {provider_id: self.provider_config(api, (model,))}},
            "agents": {"defaults": {"model": {"primary": primary, "fallbacks": list(fallbacks)} if fallbacks else primary}},
        }

    def embedding_config(self, model: str = "fake-embed") -> dict[str, Any]:
        remote: dict[str, Any] = {"baseUrl": self.base_url()}
        if self.api_key is not None:
            remote["apiKey"] = self.api_key
        return {"memory": {"search": {"provider": "openai", "model": model, "remote": remote}}}

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def set_default(self, reply: Reply) -> None:
        self.default = reply

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fake provider: {len(self.requests)} requests, wanted {n}")
                self._cond.wait(left)
            return list(self.requests)

    def wait_disconnected(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(r.disconnected for r in self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # ------------------------------------------------------------------ plumbing

    async def _record(self, request: web.Request) -> tuple[Recorded, Reply]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(request.method, request.path, {k.lower(): v for k, v in request.headers.items()}, body, time.time())
        with self._cond:
            self.requests.append(rec)
            reply = self._queue.pop(0) if self._queue else self.default
            self._cond.notify_all()
        return rec, reply

    def _mark_gone(self, rec: Recorded) -> None:
        with self._cond:
            rec.disconnected = True
            self._cond.notify_all()

    async def _hang(self, request: web.Request, rec: Recorded) -> None:
        while not self._stopping:
            transport = request.transport
            if transport is None or transport.is_closing():
                self._mark_gone(rec)
                raise _Gone
            await asyncio.sleep(0.02)
        raise _Gone

    async def _open_sse(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"content-type": "text/event-stream", "cache-control": "no-cache",
                                                       **reply.headers})
        await resp.prepare(request)
        return resp

    async def _send(self, resp: web.StreamResponse, rec: Recorded, data: bytes, reply: Reply) -> None:
        try:
            await resp.write(data)
        except (ConnectionError, RuntimeError) as exc:  # ClientConnectionResetError is a ConnectionResetError
            self._mark_gone(rec)
            raise _Gone from exc
        if reply.chunk_delay_s:
            await asyncio.sleep(reply.chunk_delay_s)

    def _auth_ok(self, request: web.Request, anthropic: bool) -> bool:
        if self.api_key is None:
            return True
        if anthropic:
            return request.headers.get("x-api-key") == self.api_key
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    @staticmethod
    def _openai_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        kind = {401: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
        return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": kind}},
                                 status=status, headers=headers or {})

    @staticmethod
    def _anthropic_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return web.json_response({"type": "error", "error": {"type": kind, "message": message}},
                                 status=status, headers=headers or {})

    async def _prelude(self, request: web.Request, anthropic: bool = False) -> tuple[Recorded, Reply, web.Response | None]:
        rec, reply = await self._record(request)
        err = self._anthropic_error if anthropic else self._openai_error
        if not self._auth_ok(request, anthropic):
            return rec, reply, err(401, "invalid api key")
        if anthropic and request.headers.get("anthropic-version") != "2023-06-01":
            return rec, reply, err(400, "anthropic-version header is required")
        if reply.hang == "headers":
            await self._hang(request, rec)
        if reply.status >= 300:
            return rec, reply, err(reply.status, reply.error or f"HTTP {reply.status}", reply.headers)
        return rec, reply, None

    def _model(self, rec: Recorded, reply: Reply) -> str:
        body = rec.body if isinstance(rec.body, dict) else {}
        return reply.model or str(body.get("model") or "fake-model")

    # ------------------------------------------------------------------ OpenAI Chat Completions

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        rec, reply, early = await self._prelude(request)
        if early is not None:
            return early
        body = rec.body if isinstance(rec.body, dict) else {}
        model = self._model(rec, reply)
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        pieces = reply.pieces()
        usage_in, usage_out = reply.usage or (11, max(1, len(pieces)))
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        calls = [(c.get("id") or f"call_{i}", c["name"], c.get("arguments", {})) for i, c in enumerate(reply.tool_calls)]
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces) or None}
            if calls:
                message["tool_calls"] = [{"id": i, "type": "function", "function": {
                    "name": n, "arguments": a if isinstance(a, str) else json.dumps(a)}} for i, n, a in calls]
            return web.json_response({"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
                                      "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                      "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out,
                                                "total_tokens": usage_in + usage_out}})

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            return _sse(None, {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                               "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})

        resp = await self._open_sse(request, reply)
        try:
            if reply.hang == "body":
                await self._hang(request, rec)
            await self._send(resp, rec, chunk({"role": "assistant", "content": ""}), reply)
            for n, piece in enumerate(pieces):
                await self._send(resp, rec, chunk({"content": piece}), reply)
                if n == 0 and await self._mid_stream(request, rec, resp, reply, openai=True):
                    return resp
            for index, (call_id, name, args) in enumerate(calls):
                text = args if isinstance(args, str) else json.dumps(args)
                await self._send(resp, rec, chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                                   "function": {"name": name, "arguments": ""}}]}), reply)
                for frag in _fragments(text):
                    await self._send(resp, rec, chunk({"tool_calls": [{"index": index, "function": {"arguments": frag}}]}),
                                     reply)
            await self._send(resp, rec, chunk({}, finish), reply)
            if (body.get("stream_options") or {}).get("include_usage"):
                await self._send(resp, rec, _sse(None, {
                    "id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                    "choices": [], "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out,
                                             "total_tokens": usage_in + usage_out}}), reply)
            await self._send(resp, rec, b"data: [DONE]\n\n", reply)
            await resp.write_eof()
        except _Gone:
            pass
        return resp

    async def _mid_stream(self, request: web.Request, rec: Recorded, resp: web.StreamResponse, reply: Reply,
                          *, openai: bool = False, anthropic: bool = False) -> bool:
        """After the first chunk: hang, cut or send an error event when the reply says so (True = stop)."""
        if reply.hang == "mid":
            await self._hang(request, rec)
        if reply.cut:
            if request.transport is not None:
                request.transport.close()
            return True
        if reply.stream_error:
            if anthropic:
                data = _sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": reply.stream_error}})
            elif openai:
                data = _sse(None, {"error": {"message": reply.stream_error, "type": "server_error", "code": "server_error"}})
            else:
                data = _sse("error", {"type": "error", "code": "server_error", "message": reply.stream_error,
                                      "param": None, "sequence_number": 99})
            await self._send(resp, rec, data, reply)
            await resp.write_eof()
            return True
        return False

    # ------------------------------------------------------------------ OpenAI Responses

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        rec, reply, early = await self._prelude(request)
        if early is not None:
            return early
        model = self._model(rec, reply)
        rid = f"resp_{uuid.uuid4().hex[:12]}"
        pieces = reply.pieces()
        usage_in, usage_out = reply.usage or (11, max(1, len(pieces)))
        seq = 0

        def ev(kind: str, **data: Any) -> bytes:
            nonlocal seq
            seq += 1
            return _sse(kind, {"type": kind, "sequence_number": seq, **data})

        def response(status: str, output: list[dict[str, Any]], usage: bool) -> dict[str, Any]:
            r: dict[str, Any] = {"id": rid, "object": "response", "created_at": int(time.time()), "status": status,
                                 "model": model, "output": output}
            if usage:
                r["usage"] = {"input_tokens": usage_in, "input_tokens_details": {"cached_tokens": 0},
                              "output_tokens": usage_out, "output_tokens_details": {"reasoning_tokens": 0},
                              "total_tokens": usage_in + usage_out}
            return r

        resp = await self._open_sse(request, reply)
        output: list[dict[str, Any]] = []
        try:
            if reply.hang == "body":
                await self._hang(request, rec)
            await self._send(resp, rec, ev("response.created", response=response("in_progress", [], False)), reply)
            await self._send(resp, rec, ev("response.in_progress", response=response("in_progress", [], False)), reply)
            if pieces:
                mid = f"msg_{uuid.uuid4().hex[:12]}"
                item = {"id": mid, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
                await self._send(resp, rec, ev("response.output_item.added", output_index=0, item=item), reply)
                part = {"type": "output_text", "text": "", "annotations": []}
                await self._send(resp, rec, ev("response.content_part.added", item_id=mid, output_index=0,
                                               content_index=0, part=part), reply)
                for n, piece in enumerate(pieces):
                    await self._send(resp, rec, ev("response.output_text.delta", item_id=mid, output_index=0,
                                                   content_index=0, delta=piece, logprobs=[]), reply)
                    if n == 0 and await self._mid_stream(request, rec, resp, reply):
                        return resp
                text = "".join(pieces)
                await self._send(resp, rec, ev("response.output_text.done", item_id=mid, output_index=0,
                                               content_index=0, text=text, logprobs=[]), reply)
                done_part = {"type": "output_text", "text": text, "annotations": []}
                await self._send(resp, rec, ev("response.content_part.done", item_id=mid, output_index=0,
                                               content_index=0, part=done_part), reply)
                item = {**item, "status": "completed", "content": [done_part]}
                await self._send(resp, rec, ev("response.output_item.done", output_index=0, item=item), reply)
                output.append(item)
            for i, call in enumerate(reply.tool_calls):
                index = len(output)
                args = call.get("arguments", {})
                text = args if isinstance(args, str) else json.dumps(args)
                fid = f"fc_{uuid.uuid4().hex[:12]}"
                item = {"id": fid, "type": "function_call", "status": "in_progress", "arguments": "",
                        "call_id": call.get("id") or f"call_{i}", "name": call["name"]}
                await self._send(resp, rec, ev("response.output_item.added", output_index=index, item=item), reply)
                for frag in _fragments(text):
                    await self._send(resp, rec, ev("response.function_call_arguments.delta", item_id=fid,
                                                   output_index=index, delta=frag), reply)
                await self._send(resp, rec, ev("response.function_call_arguments.done", item_id=fid,
                                               output_index=index, arguments=text), reply)
                item = {**item, "status": "completed", "arguments": text}
                await self._send(resp, rec, ev("response.output_item.done", output_index=index, item=item), reply)
                output.append(item)
            if reply.finish_reason == "length":
                final = response("incomplete", output, True)
                final["incomplete_details"] = {"reason": "max_output_tokens"}
                await self._send(resp, rec, ev("response.incomplete", response=final), reply)
            else:
                await self._send(resp, rec, ev("response.completed", response=response("completed", output, True)), reply)
            await resp.write_eof()
        except _Gone:
            pass
        return resp

    # ------------------------------------------------------------------ Anthropic Messages

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        rec, reply, early = await self._prelude(request, anthropic=True)
        if early is not None:
            return early
        model = self._model(rec, reply)
        pieces = reply.pieces()
        usage_in, usage_out = reply.usage or (11, max(1, len(pieces)))
        stop = reply.finish_reason or ("tool_use" if reply.tool_calls else "end_turn")

        def ev(kind: str, **data: Any) -> bytes:
            return _sse(kind, {"type": kind, **data})

        resp = await self._open_sse(request, reply)
        try:
            if reply.hang == "body":
                await self._hang(request, rec)
            await self._send(resp, rec, ev("message_start", message={
                "id": f"msg_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": usage_in, "output_tokens": 1, "cache_read_input_tokens": 0,
                          "cache_creation_input_tokens": 0}}), reply)
            index = 0
            if pieces:
                await self._send(resp, rec, ev("content_block_start", index=0,
                                               content_block={"type": "text", "text": ""}), reply)
                await self._send(resp, rec, ev("ping"), reply)
                for n, piece in enumerate(pieces):
                    await self._send(resp, rec, ev("content_block_delta", index=0,
                                                   delta={"type": "text_delta", "text": piece}), reply)
                    if n == 0 and await self._mid_stream(request, rec, resp, reply, anthropic=True):
                        return resp
                await self._send(resp, rec, ev("content_block_stop", index=0), reply)
                index = 1
            for i, call in enumerate(reply.tool_calls):
                args = call.get("arguments", {})
                text = args if isinstance(args, str) else json.dumps(args)
                await self._send(resp, rec, ev("content_block_start", index=index, content_block={
                    "type": "tool_use", "id": call.get("id") or f"toolu_{i}", "name": call["name"], "input": {}}), reply)
                for frag in [""] + _fragments(text):
                    await self._send(resp, rec, ev("content_block_delta", index=index,
                                                   delta={"type": "input_json_delta", "partial_json": frag}), reply)
                await self._send(resp, rec, ev("content_block_stop", index=index), reply)
                index += 1
            await self._send(resp, rec, ev("message_delta", delta={"stop_reason": stop, "stop_sequence": None},
                                           usage={"output_tokens": usage_out}), reply)
            await self._send(resp, rec, ev("message_stop"), reply)
            await resp.write_eof()
        except _Gone:
            pass
        return resp

    # ------------------------------------------------------------------ embeddings

    async def _embeddings(self, request: web.Request) -> web.Response:
        rec, reply, early = await self._prelude(request)
        if early is not None:
            return early
        body = rec.body if isinstance(rec.body, dict) else {}
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            return self._openai_error(400, "input must be a string or an array of strings")
        model = self._model(rec, reply)
        tokens = sum(len(t.split()) for t in inputs)
        return web.json_response({
            "object": "list", "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": _vector(t, self.embedding_dims)}
                     for i, t in enumerate(inputs)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake model providers on 127.0.0.1 until killed.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--text", default=None, help="the reply text (default: --words numbered words)")
    parser.add_argument("--words", type=int, default=200)
    args = parser.parse_args(argv)
    text = args.text if args.text is not None else " ".join(f"w{i}" for i in range(1, args.words + 1))
    fake = FakeProviderServer(api_key=args.api_key or None, default=Reply(text=text))

    async def serve() -> None:
        fake.port = await fake._start(args.port)
        print(f"READY {fake.port}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
