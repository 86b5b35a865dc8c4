"""POST <hooks.path>/wake and <hooks.path>/agent (brief §5.7): external triggers with their own
token (`hooks.token`, never the gateway secret), all config hot.

Order: hooks off -> 404 "Not Found" · unknown hook -> 404 · not POST -> 405 · `?token=` -> 400
text · rate limit (20 failures / 60 s per client -> 60 s lockout, loopback NOT exempt) -> 429 +
Retry-After · token (Bearer or X-OpenClaw-Token) -> 401 text "Unauthorized" · body (256 KiB) ->
JSON `{"ok":false,"error":…}` errors.

/agent runs `agent` through the agent worker like the OpenAI endpoints (run_stream.HttpRun) and
answers on admission `{"ok":true,"runId"}`; with `waitForCompletion:true` after the run, with a
`completion`. The session is `agent:<id>:hook:<uuid>` (upstream shows `hook:<uuid>`, which is not a
canonical key the session store accepts; brief §5.7 ⚠), or `hooks.defaultSessionKey`, or the
request's `sessionKey` when `hooks.allowRequestSessionKey` is true (and it matches
`hooks.allowedSessionKeyPrefixes` when set). /wake records a wake request (no heartbeat runner
consumes it yet): `queued`, or `coalesced` when an identical one is pending (60 s).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from openclaw.ipc.config import config_value
from openclaw.ipc.errors import GatewayError
from openclaw.ipc.secrets_compare import secret_equals

from ..appkeys import SERVICES
from ..auth.client_address import resolve
from ..auth.rate_limit import AuthRateLimiter, Limits, RateLimited
from .bearer import bearer_of
from .body import BodyError, read_json_object
from .openai_common import method_not_allowed, not_found, text_response
from .openai_targets import agent_ids, default_agent
from .responses import json_response
from .run_stream import HttpRun, final_error

HOOK_BODY_CAP = 256 * 1024
HOOK_LIMITS = Limits(max_attempts=20, window_ms=60_000, lockout_ms=60_000, exempt_loopback=False)
WAKE_PENDING_S = 60.0
QUERY_TOKEN = ("Hook token must be provided via Authorization: Bearer <token> or X-OpenClaw-Token header "
               "(query parameters are not allowed).")
LIMITER: web.AppKey[AuthRateLimiter] = web.AppKey("hook_limiter", AuthRateLimiter)
WAKES: web.AppKey[dict[tuple[str, str, str], float]] = web.AppKey("hook_wakes", dict)


def hooks_path(config: dict[str, Any]) -> str | None:
    """The hooks prefix when hooks are on (enabled and a token), else None."""
    if config_value(config, "hooks.enabled", False) is not True:
        return None
    token = config_value(config, "hooks.token", None)
    if not isinstance(token, str) or not token:
        return None
    path = config_value(config, "hooks.path", "/hooks")
    path = path if isinstance(path, str) and path.startswith("/") else "/hooks"
    return path.rstrip("/") or "/hooks"


def _fail(status: int, message: str) -> web.Response:
    return json_response({"ok": False, "error": message}, status=status)


def install(app: web.Application) -> None:
    app[LIMITER] = AuthRateLimiter(HOOK_LIMITS)
    app[WAKES] = {}


async def maybe_hook(request: web.Request) -> web.StreamResponse | None:
    """The answer when the request is under the hooks prefix, else None (not a hook path)."""
    config = request.app[SERVICES].settings.config
    prefix = hooks_path(config)
    if prefix is None or not (request.path == prefix or request.path.startswith(prefix + "/")):
        return None
    name = request.path[len(prefix):].strip("/")
    if name not in ("wake", "agent"):
        return not_found()
    if request.method != "POST":
        return method_not_allowed("POST")
    if "token" in request.query:
        return text_response(400, QUERY_TOKEN)
    refused = _authorize(request, config)
    if refused is not None:
        return refused
    try:
        body = await read_json_object(request, HOOK_BODY_CAP)
    except BodyError as exc:
        return _fail(exc.status, "payload too large" if exc.status == 413 else "invalid JSON body")
    if name == "wake":
        return _wake(request, body)
    return await _agent(request, body, config)


def _authorize(request: web.Request, config: dict[str, Any]) -> web.Response | None:
    svc = request.app[SERVICES]
    limiter = request.app[LIMITER]
    addr = resolve(request.remote or "", request.headers, svc.trusted_proxies)
    key = addr.ip
    try:
        limiter.admit(key, False)
    except RateLimited as exc:
        return text_response(429, "Too Many Requests", {"Retry-After": str(max(1, -(-exc.retry_after_ms // 1000)))})
    given = bearer_of(request) or request.headers.get("X-OpenClaw-Token")
    if secret_equals(given, config_value(config, "hooks.token", None)):
        limiter.succeeded(key)
        return None
    limiter.failed(key, False)
    return text_response(401, "Unauthorized")


def _wake(request: web.Request, body: dict[str, Any]) -> web.Response:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return _fail(400, "text required")
    mode = body.get("mode", "now")
    if mode not in ("now", "next-heartbeat"):
        return _fail(400, "mode must be \"now\" or \"next-heartbeat\"")
    wakes = request.app[WAKES]
    now = time.monotonic()
    for k in [k for k, t in wakes.items() if t <= now]:
        del wakes[k]
    key = (text, str(body.get("agentId") or ""), str(body.get("sessionKey") or ""))
    outcome = "coalesced" if key in wakes else "queued"
    if len(wakes) < 1000:
        wakes.setdefault(key, now + WAKE_PENDING_S)
    return json_response({"ok": True, "mode": mode, "eventOutcome": outcome})


def _session_for(body: dict[str, Any], config: dict[str, Any], agent: str) -> str | web.Response:
    requested = body.get("sessionKey")
    if requested is not None:
        if config_value(config, "hooks.allowRequestSessionKey", False) is not True:
            return _fail(400, "sessionKey is disabled for externally supplied hook payload values; "
                              "set hooks.allowRequestSessionKey=true to enable")
        if not isinstance(requested, str) or not requested.strip():
            return _fail(400, "sessionKey must be a non-empty string")
        prefixes = config_value(config, "hooks.allowedSessionKeyPrefixes", None)
        if isinstance(prefixes, list) and prefixes and not any(isinstance(p, str) and requested.startswith(p) for p in prefixes):
            return _fail(400, "sessionKey is not allowed by hooks.allowedSessionKeyPrefixes")
        return requested
    default = config_value(config, "hooks.defaultSessionKey", None)
    if isinstance(default, str) and default:
        return default
    return f"agent:{agent}:hook:{uuid.uuid4()}"


async def _agent(request: web.Request, body: dict[str, Any], config: dict[str, Any]) -> web.StreamResponse:
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        return _fail(400, "message required")
    agent = body.get("agentId") or default_agent(config)
    if not isinstance(agent, str) or agent not in agent_ids(config):
        return _fail(400, "unknown agentId")
    allowed = config_value(config, "hooks.allowedAgentIds", None)
    if isinstance(allowed, list) and allowed and agent not in allowed and "*" not in allowed:
        return _fail(400, "agentId is not allowed by hooks.allowedAgentIds")
    session = _session_for(body, config, agent)
    if isinstance(session, web.Response):
        return session
    run_id = body.get("idempotencyKey")
    if not isinstance(run_id, str) or not run_id:
        run_id = str(uuid.uuid4())
    params: dict[str, Any] = {"message": message, "idempotencyKey": run_id, "agentId": agent, "sessionKey": session, "deliver": False}
    if isinstance(body.get("model"), str) and body["model"]:
        params["model"] = body["model"]
    if isinstance(body.get("thinking"), str):
        params["thinking"] = body["thinking"]
    timeout = body.get("timeoutSeconds")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
        params["timeout"] = int(timeout)
    if isinstance(body.get("name"), str):
        params["label"] = body["name"][:200]
    wait = body.get("waitForCompletion") is True
    run = HttpRun(request.app[SERVICES], request.remote or "", client_id="hooks", abort_on_disconnect=False)
    try:
        run.start(params)
    except GatewayError as exc:
        return json_response({"ok": False, "error": exc.message}, status=503, headers={"Retry-After": "1"})
    try:
        async for kind, _item in run.items(request):
            if kind == "accepted" and not wait:
                return json_response({"ok": True, "runId": run_id})
        if run.final is None:  # the client left; a hook run is not tied to its request: nothing to abort
            return _fail(499, "client closed request")
        err = final_error(run.final, run.accepted is not None)
        if err is not None and run.accepted is None:
            return _fail(400 if err.code == "INVALID_REQUEST" else 503, err.message)
        if not wait:
            return json_response({"ok": True, "runId": run_id})
        completion: dict[str, Any] = {"status": "ok" if err is None else "error", "replyDisposition": "visible",
                                      "delivered": False, "deliveryAttempted": False}
        if err is not None:
            completion["error"] = err.message
        return json_response({"ok": True, "runId": run_id, "completion": completion})
    finally:
        run.close()
