"""What the OpenAI-compatible endpoints share: the enabled flags, the gate (flag -> method ->
Bearer), text/plain refusals, the OpenAI error body, security headers on streams, and turning
an OpenAI conversation into `agent` params (brief §5.1, §5.3).

Flags (hot): `gateway.http.endpoints.chatCompletions.enabled` gates /v1/chat/completions and
/v1/models; `…responses.enabled` gates /v1/responses; /v1/embeddings is on when either is
(brief §8.2, ANC:405). Disabled -> 404 text/plain "Not Found".
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from openclaw.ipc.config import config_value

from ..appkeys import SERVICES
from .bearer import authorize
from .body import BodyError
from .openai_targets import INVALID_MODEL, pick_agent, session_key_for
from .responses import SECURITY_HEADERS, json_error

if TYPE_CHECKING:
    from ..services import Services

CHAT_BODY_CAP = 20 * 1024 * 1024
CHAT, RESPONSES = "chatCompletions", "responses"


def enabled(svc: Services, flag: str) -> bool:
    return config_value(svc.settings.config, f"gateway.http.endpoints.{flag}.enabled", False) is True


def text_response(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    h = {"Cache-Control": "no-store", **SECURITY_HEADERS, **(headers or {})}
    return web.Response(status=status, text=text, headers=h, content_type="text/plain", charset="utf-8")


def not_found() -> web.Response:
    return text_response(404, "Not Found")


def method_not_allowed(allow: str) -> web.Response:
    return text_response(405, "Method Not Allowed", {"Allow": allow})


def invalid(message: str) -> web.Response:
    return json_error(400, message, "invalid_request_error")


def body_error(exc: BodyError) -> web.Response:
    type_ = "invalid_request_error"
    return json_error(exc.status, exc.message, type_)


async def gate(request: web.Request, flags: tuple[str, ...], method: str) -> web.Response | None:
    """None when the request may proceed; else the refusal (disabled, wrong method, auth)."""
    svc = request.app[SERVICES]
    if not any(enabled(svc, f) for f in flags):
        return not_found()
    if request.method != method and not (method == "GET" and request.method == "HEAD"):
        return method_not_allowed(method)
    return await authorize(request, svc)


def stream_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "Connection": "keep-alive",
            "X-Accel-Buffering": "no", **SECURITY_HEADERS, **(extra or {})}


def content_text(content: Any) -> str | None:
    """OpenAI message content (string, or parts with text) -> text; None when not text at all."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content
                 if isinstance(p, dict) and p.get("type") in ("text", "input_text", "output_text") and isinstance(p.get("text"), str)]
        return "\n".join(texts) if texts else ("" if content else None)
    return None


def split_conversation(messages: list[Any]) -> tuple[str | None, list[dict[str, str]], str]:
    """(the last user message, the earlier user/assistant turns, the system prompt)."""
    system: list[str] = []
    turns: list[dict[str, str]] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        text = content_text(m.get("content"))
        if text is None:
            continue
        if role in ("system", "developer"):
            system.append(text)
        elif role in ("user", "assistant"):
            turns.append({"role": role, "content": text})
    last_user = max((i for i, t in enumerate(turns) if t["role"] == "user"), default=None)
    if last_user is None:
        return None, [], "\n\n".join(system)
    return turns[last_user]["content"], turns[:last_user], "\n\n".join(system)


class RunRequest:
    """The agent run an OpenAI request asks for (or the 400 to answer)."""

    def __init__(self, agent: str, params: dict[str, Any], target: str) -> None:
        self.agent, self.params, self.target = agent, params, target


def build_run(request: web.Request, svc: Services, body: dict[str, Any], message: str | None,
              history: list[dict[str, str]], system: str, run_id: str, missing: str) -> RunRequest | web.Response:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return invalid("Missing `model`.") if model is None else invalid(INVALID_MODEL)
    agent = pick_agent(svc.settings.config, model, request.headers.get("x-openclaw-agent-id") or None)
    if agent is None:
        return invalid(INVALID_MODEL)
    if message is None or not message.strip():
        return invalid(missing)
    params: dict[str, Any] = {
        "message": message, "idempotencyKey": run_id, "agentId": agent,
        "sessionKey": session_key_for(agent, request.headers.get("x-openclaw-session-key") or None, body.get("user")),
        "deliver": False,
    }
    override = request.headers.get("x-openclaw-model")
    if override:
        params["model"] = override
    if history or system:
        params["__http"] = {"history": history, "system": system}
    return RunRequest(agent, params, model)


LOCAL_PROVIDER_PREFIX = "openclaw-local/"


def shown_model(target: str, used: str) -> str:
    """A response's `model`: the agent target the client asked for (upstream), except when the built-in
    offline provider answered: then its name, so nobody mistakes it for a language model."""
    return used if used.startswith(LOCAL_PROVIDER_PREFIX) else target


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4()}"
