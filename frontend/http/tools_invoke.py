"""POST /tools/invoke (brief §5.6): always on, Bearer (owner), body cap 2 MB; the agent worker
runs the tool (`router.ask("http.tools.invoke")`, workers/agent/tools_methods.invoke_body) and
says which status to answer: 200 ok, 400 invalid_request / tool_error, 404 not_found (unknown,
denied and coding tools alike), 500 tool_error.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from openclaw.ipc.errors import GatewayError

from ..appkeys import SERVICES
from .bearer import authorize
from .body import BodyError, read_json_object
from .openai_common import method_not_allowed
from .responses import json_response

TOOLS_BODY_CAP = 2 * 1024 * 1024
TOOL_CALL_TIMEOUT_S = 40.0  # the worker's own per-tool limit is 30 s


def _fail(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_response({"ok": False, "error": {"type": type_, "message": message}}, status=status, headers=headers)


async def tools_invoke(request: web.Request) -> web.StreamResponse:
    if request.method != "POST":
        return method_not_allowed("POST")
    svc = request.app[SERVICES]
    refused = await authorize(request, svc)
    if refused is not None:
        return refused
    try:
        body = await read_json_object(request, TOOLS_BODY_CAP)
    except BodyError as exc:
        return _fail(exc.status, "invalid_request", exc.message)
    try:
        raw = await svc.router.ask("http.tools.invoke", msgspec.json.encode(body), TOOL_CALL_TIMEOUT_S)
    except GatewayError as exc:
        return _fail(503, "unavailable", exc.message, {"Retry-After": "1"})
    answer = msgspec.json.decode(raw)
    return json_response(answer["body"], status=int(answer["status"]))
