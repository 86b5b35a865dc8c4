"""POST /v1/responses (brief §5.4): the OpenAI Responses API over one `agent` run.

`input` is a string or a list of message items (`{role, content}` / `{type:"message", …}`,
content a string or `input_text` parts); `instructions` is the system prompt. Non-stream: one
`response` object. Stream (`stream:true`): `event:`/`data:` pairs in the OpenAI schema —
response.created, response.in_progress, response.output_item.added, response.content_part.added,
response.output_text.delta…, response.output_text.done, response.content_part.done,
response.output_item.done, response.completed (response.failed on a failed run) — then
`data: [DONE]`. A client that disconnects aborts the run.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web
from openclaw.ipc.errors import GatewayError

from ..appkeys import SERVICES
from .body import BodyError, read_json_object
from .openai_chat import assistant_delta, model_used
from .openai_common import (
    CHAT_BODY_CAP,
    RESPONSES,
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
from .run_stream import HttpRun, error_status, final_error, result_meta, result_text

MISSING_USER = "Missing user message in `input`."
_enc = msgspec.json.Encoder()


def _messages(body: dict[str, Any]) -> list[Any] | None:
    raw = body.get("input")
    msgs: list[Any] = []
    if isinstance(body.get("instructions"), str):
        msgs.append({"role": "system", "content": body["instructions"]})
    if isinstance(raw, str):
        return [*msgs, {"role": "user", "content": raw}]
    if not isinstance(raw, list):
        return None
    for item in raw:
        if isinstance(item, dict) and item.get("type") in (None, "message"):
            msgs.append({"role": item.get("role", "user"), "content": item.get("content")})
    return msgs


def _usage(meta: dict[str, Any]) -> dict[str, Any]:
    return {"input_tokens": meta["input"], "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": meta["output"], "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": meta["total"]}


def _message_item(msg_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []
    return {"type": "message", "id": msg_id, "role": "assistant", "content": content, "phase": "final_answer", "status": status}


def _response(rid: str, created: int, target: str, status: str, output: list[Any], usage: Any,
              error: Any = None) -> dict[str, Any]:
    return {"id": rid, "object": "response", "created_at": created, "status": status, "model": target,
            "output": output, "usage": usage, "error": error, "incomplete_details": None,
            "parallel_tool_calls": False, "tool_choice": "auto", "tools": []}


async def responses(request: web.Request) -> web.StreamResponse:
    refused = await gate(request, (RESPONSES,), "POST")
    if refused is not None:
        return refused
    svc = request.app[SERVICES]
    try:
        body = await read_json_object(request, CHAT_BODY_CAP)
    except BodyError as exc:
        return body_error(exc)
    messages = _messages(body)
    if messages is None:
        return invalid("`input` must be a string or an array of input items.") if "input" in body else invalid(MISSING_USER)
    message, history, system = split_conversation(messages)
    rid = new_id("resp")
    run_req = build_run(request, svc, body, message, history, system, rid, MISSING_USER)
    if isinstance(run_req, web.Response):
        return run_req
    run = HttpRun(svc, request.remote or "", client_id="openai-responses")
    try:
        run.start(run_req.params)
    except GatewayError as exc:
        return json_error(503, exc.message, "api_error", headers={"Retry-After": "1"})
    try:
        if body.get("stream") is True:
            return await _stream(request, run, run_req.target, rid)
        return await _whole(request, run, run_req.target, rid)
    finally:
        run.close()


async def _whole(request: web.Request, run: HttpRun, target: str, rid: str) -> web.StreamResponse:
    created = int(time.time())
    used = ""
    async for kind, item in run.items(request):
        if kind == "event":
            used = model_used(item[0], item[1], used)
    if run.final is None:
        return json_error(499, "client closed request", "api_error")
    err = final_error(run.final, run.accepted is not None)
    if err is not None:
        status, type_ = error_status(err)
        return json_error(status, err.message, type_)
    payload = run.final.get("payload")
    meta = result_meta(payload)
    used = meta["used"] or used
    out = _response(rid, created, shown_model(target, used), "completed", [_message_item(new_id("msg"), result_text(payload), "completed")], _usage(meta))
    return json_response(out, headers={"x-openclaw-model-used": used} if used else None)


async def _stream(request: web.Request, run: HttpRun, target: str, rid: str) -> web.StreamResponse:
    created = int(time.time())
    msg_id = new_id("msg")
    used = ""
    seq = 0
    text: list[str] = []
    resp: web.StreamResponse | None = None

    async def send(event: str, data: dict[str, Any]) -> None:
        nonlocal seq
        assert resp is not None
        body = {"type": event, "sequence_number": seq, **data}
        seq += 1
        await resp.write(b"event: " + event.encode() + b"\ndata: " + _enc.encode(body) + b"\n\n")

    async def open_stream() -> web.StreamResponse:
        nonlocal resp
        resp = web.StreamResponse(status=200, headers=stream_headers({"x-openclaw-model-used": used} if used else None))
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        shell = _response(rid, created, target, "in_progress", [], None)
        await send("response.created", {"response": shell})
        await send("response.in_progress", {"response": shell})
        await send("response.output_item.added", {"output_index": 0, "item": _message_item(msg_id, "", "in_progress")})
        await send("response.content_part.added", {"item_id": msg_id, "output_index": 0, "content_index": 0,
                                                   "part": {"type": "output_text", "text": "", "annotations": []}})
        return resp

    try:
        async for kind, item in run.items(request):
            if kind == "event":
                was = used
                used = model_used(item[0], item[1], used)
                delta = assistant_delta(item[0], item[1], run.run_id)
                if resp is None and (delta is not None or (used and not was)):
                    await open_stream()
                if delta is not None:
                    text.append(delta)
                    await send("response.output_text.delta", {"item_id": msg_id, "output_index": 0, "content_index": 0,
                                                              "delta": delta, "logprobs": []})
                continue
            if kind != "final":
                continue
            err = final_error(item, run.accepted is not None)
            if err is not None and resp is None:
                status, type_ = error_status(err)
                return json_error(status, err.message, type_)
            if resp is None:
                await open_stream()
            if err is not None:
                failed = _response(rid, created, target, "failed", [], None, {"code": "server_error", "message": err.message})
                await send("response.failed", {"response": failed})
            else:
                full = "".join(text)
                meta = result_meta(item.get("payload"))
                part = {"type": "output_text", "text": full, "annotations": []}
                await send("response.output_text.done", {"item_id": msg_id, "output_index": 0, "content_index": 0,
                                                         "text": full, "logprobs": []})
                await send("response.content_part.done", {"item_id": msg_id, "output_index": 0, "content_index": 0, "part": part})
                done_item = _message_item(msg_id, full, "completed")
                await send("response.output_item.done", {"output_index": 0, "item": done_item})
                await send("response.completed", {"response": _response(rid, created, shown_model(target, used), "completed", [done_item], _usage(meta))})
            assert resp is not None
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
    except (ConnectionResetError, ConnectionError):
        run.cancel()
    if resp is None:
        return json_error(499, "client closed request", "api_error")
    return resp
