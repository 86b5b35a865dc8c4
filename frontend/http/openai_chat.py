"""POST /v1/chat/completions (brief §5.3): one `agent` run per request, non-stream or SSE.

The last user message is the turn; earlier user/assistant messages and the system/developer
messages go along as `__http.history` / `__http.system` (they replace the stored history as the
model's context when present). `model` echoes the request's agent target (upstream); the
provider model that answered (`openclaw-local/echo` ...) is in `system_fingerprint` and the
`x-openclaw-model-used` header. Streaming: `{role:"assistant"}` first, `{content}` pieces as the
run's assistant deltas arrive, `{}` + finish_reason, the usage chunk when
`stream_options.include_usage`, then `data: [DONE]`. A client that disconnects aborts the run.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web
from openclaw.ipc.errors import GatewayError

from ..appkeys import SERVICES
from .body import BodyError, read_json_object
from .openai_common import (
    CHAT,
    CHAT_BODY_CAP,
    body_error,
    build_run,
    gate,
    invalid,
    new_id,
    shown_model,
    split_conversation,
    stream_headers,
)
from .responses import json_error, json_response
from .run_stream import (
    HttpRun,
    error_status,
    final_error,
    finish_reason,
    result_meta,
    result_text,
)

MISSING_USER = "Missing user message in `messages`."
_enc = msgspec.json.Encoder()


def _sse(obj: Any) -> bytes:
    return b"data: " + _enc.encode(obj) + b"\n\n"


def model_used(name: str, payload: Any, current: str) -> str:
    """The provider/model of a lifecycle `model` event, else `current`."""
    if name != "agent" or not isinstance(payload, dict) or payload.get("stream") != "lifecycle":
        return current
    data = payload.get("data") or {}
    if data.get("phase") == "model" and data.get("provider") and data.get("model"):
        return f"{data['provider']}/{data['model']}"
    return current


def assistant_delta(name: str, payload: Any, run_id: str) -> str | None:
    if name != "agent" or not isinstance(payload, dict) or payload.get("runId") != run_id or payload.get("stream") != "assistant":
        return None
    delta = (payload.get("data") or {}).get("delta")
    return delta if isinstance(delta, str) and delta else None


async def chat_completions(request: web.Request) -> web.StreamResponse:
    refused = await gate(request, (CHAT,), "POST")
    if refused is not None:
        return refused
    svc = request.app[SERVICES]
    try:
        body = await read_json_object(request, CHAT_BODY_CAP)
    except BodyError as exc:
        return body_error(exc)
    messages = body.get("messages")
    if not isinstance(messages, list):
        return invalid("`messages` must be an array.") if "messages" in body else invalid(MISSING_USER)
    message, history, system = split_conversation(messages)
    cid = new_id("chatcmpl")
    run_req = build_run(request, svc, body, message, history, system, cid, MISSING_USER)
    if isinstance(run_req, web.Response):
        return run_req
    stream = body.get("stream") is True
    opts = body.get("stream_options")
    include_usage = isinstance(opts, dict) and opts.get("include_usage") is True
    run = HttpRun(svc, request.remote or "")
    try:
        run.start(run_req.params)
    except GatewayError as exc:
        return json_error(503, exc.message, "api_error", headers={"Retry-After": "1"})
    try:
        if stream:
            return await _stream(request, run, run_req.target, cid, include_usage)
        return await _whole(request, run, run_req.target, cid)
    finally:
        run.close()


async def _whole(request: web.Request, run: HttpRun, target: str, cid: str) -> web.StreamResponse:
    used = ""
    async for kind, item in run.items(request):
        if kind == "event":
            used = model_used(item[0], item[1], used)
    if run.final is None:  # the client went away; the run was aborted
        return json_error(499, "client closed request", "api_error")
    err = final_error(run.final, run.accepted is not None)
    if err is not None:
        status, type_ = error_status(err)
        return json_error(status, err.message, type_)
    payload = run.final.get("payload")
    meta = result_meta(payload)
    used = meta["used"] or used
    out = {
        "id": cid, "object": "chat.completion", "created": int(time.time()), "model": shown_model(target, used),
        "system_fingerprint": used or None,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result_text(payload)},
                     "finish_reason": finish_reason(meta["stop"])}],
        "usage": {"prompt_tokens": meta["input"], "completion_tokens": meta["output"], "total_tokens": meta["total"]},
    }
    return json_response(out, headers={"x-openclaw-model-used": used} if used else None)


async def _stream(request: web.Request, run: HttpRun, target: str, cid: str, include_usage: bool) -> web.StreamResponse:
    created = int(time.time())
    used = ""
    resp: web.StreamResponse | None = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": shown_model(target, used),
                     "system_fingerprint": used or None, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    async def open_stream() -> web.StreamResponse:
        r = web.StreamResponse(status=200, headers=stream_headers({"x-openclaw-model-used": used} if used else None))
        r.enable_chunked_encoding()
        await r.prepare(request)
        await r.write(chunk({"role": "assistant", "content": ""}))
        return r

    try:
        async for kind, item in run.items(request):
            if kind == "event":
                name, payload = item
                was = used
                used = model_used(name, payload, used)
                delta = assistant_delta(name, payload, run.run_id)
                if resp is None and (delta is not None or (used and not was)):
                    resp = await open_stream()
                if delta is not None and resp is not None:
                    await resp.write(chunk({"content": delta}))
                continue
            if kind != "final":
                continue
            err = final_error(item, run.accepted is not None)
            if err is not None and resp is None:
                status, type_ = error_status(err)
                return json_error(status, err.message, type_)
            if resp is None:
                resp = await open_stream()
            if err is not None:
                await resp.write(_sse({"error": {"message": err.message, "type": error_status(err)[1], "code": err.code}}))
            else:
                meta = result_meta(item.get("payload"))
                await resp.write(chunk({}, finish_reason(meta["stop"])))
                if include_usage:
                    await resp.write(_sse({
                        "id": cid, "object": "chat.completion.chunk", "created": created, "model": shown_model(target, used),
                        "system_fingerprint": used or None, "choices": [],
                        "usage": {"prompt_tokens": meta["input"], "completion_tokens": meta["output"], "total_tokens": meta["total"]},
                    }))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
    except (ConnectionResetError, ConnectionError):
        run.cancel()
    if resp is None:  # the client left before anything was sent
        return json_error(499, "client closed request", "api_error")
    return resp
