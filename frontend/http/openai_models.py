"""GET /v1/models and /v1/models/{id} (brief §5.2): the agent targets as OpenAI models.

`{id}` may arrive raw (`/v1/models/openclaw/main`, what the openai SDK sends) or URL-encoded
(`openclaw%2Fmain`); both are accepted. Unknown id -> 400 "Invalid model id.".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aiohttp import web

from ..appkeys import SERVICES
from .openai_common import CHAT, gate, invalid
from .openai_targets import model_ids
from .responses import json_response


def model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "openclaw", "permission": []}


async def list_models(request: web.Request) -> web.StreamResponse:
    refused = await gate(request, (CHAT,), "GET")
    if refused is not None:
        return refused
    config = request.app[SERVICES].settings.config
    return json_response({"object": "list", "data": [model_object(m) for m in model_ids(config)]})


async def get_model(request: web.Request) -> web.StreamResponse:
    refused = await gate(request, (CHAT,), "GET")
    if refused is not None:
        return refused
    config = request.app[SERVICES].settings.config
    wanted = unquote(request.match_info.get("id", ""))
    if wanted not in model_ids(config):
        return invalid("Invalid model id.")
    return json_response(model_object(wanted))
