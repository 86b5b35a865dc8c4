"""POST /v1/embeddings (brief §5.5): validated here, embedded by the agent worker
(`router.ask("http.embeddings")` -> providers.catalog.embed with `memory.search`).

The request `model` picks the agent; `x-openclaw-model` overrides the embedding model. Body
cap 5 MiB. With no embedding provider configured: 500 api_error with a message saying so
(upstream answers a bare "internal error"; brief §8.15). `encoding_format:"base64"` gives
float32 little-endian bytes, base64. `usage` is always zero (upstream).
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import msgspec
from aiohttp import web

from openclaw.ipc.errors import GatewayError

from ..appkeys import SERVICES
from .body import BodyError, read_json_object
from .openai_common import CHAT, RESPONSES, body_error, gate, invalid
from .openai_targets import INVALID_MODEL, pick_agent
from .responses import json_error, json_response

EMBED_BODY_CAP = 5 * 1024 * 1024
MAX_INPUTS, MAX_INPUT_CHARS, MAX_TOTAL_CHARS = 128, 8192, 65536
EMBED_TIMEOUT_S = 60.0


def _inputs(value: Any) -> list[str] | str:
    """The inputs, or the 400 message."""
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        return "`input` must be a string or an array of strings."
    if not items or not any(s.strip() for s in items):
        return "`input` must contain at least one non-empty string."
    if len(items) > MAX_INPUTS:
        return f"Too many inputs (max {MAX_INPUTS})."
    if any(len(s) > MAX_INPUT_CHARS for s in items):
        return f"Input too long (max {MAX_INPUT_CHARS} chars)."
    if sum(len(s) for s in items) > MAX_TOTAL_CHARS:
        return f"Total input too large (max {MAX_TOTAL_CHARS} chars)."
    return items


async def embeddings(request: web.Request) -> web.StreamResponse:
    refused = await gate(request, (CHAT, RESPONSES), "POST")
    if refused is not None:
        return refused
    svc = request.app[SERVICES]
    try:
        body = await read_json_object(request, EMBED_BODY_CAP)
    except BodyError as exc:
        return body_error(exc)
    model = body.get("model")
    if model is None:
        return invalid("Missing `model`.")
    agent = pick_agent(svc.settings.config, model, request.headers.get("x-openclaw-agent-id") or None) if isinstance(model, str) else None
    if agent is None:
        return invalid(INVALID_MODEL)
    inputs = _inputs(body.get("input"))
    if isinstance(inputs, str):
        return invalid(inputs)
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        return invalid("`encoding_format` must be \"float\" or \"base64\".")
    question = {"agentId": agent, "inputs": inputs, "model": request.headers.get("x-openclaw-model") or None}
    try:
        answer = msgspec.json.decode(await svc.router.ask("http.embeddings", msgspec.json.encode(question), EMBED_TIMEOUT_S))
    except GatewayError as exc:
        return json_error(503, exc.message, "api_error", headers={"Retry-After": "1"})
    if not isinstance(answer, dict) or not answer.get("ok"):
        why = answer.get("message") if isinstance(answer, dict) else None
        return json_error(500, str(why or "internal error"), "api_error")
    data = []
    for i, vec in enumerate(answer.get("vectors") or []):
        emb: Any = vec
        if fmt == "base64":
            emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return json_response({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}})
