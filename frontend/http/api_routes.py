"""Registers the HTTP API on the one port: the OpenAI-compatible /v1/*, /tools/invoke, and the
hooks (under the hot-configurable `hooks.path`, so they are looked up by the catch-all)."""

from __future__ import annotations

from aiohttp import web

from . import hooks
from .openai_chat import chat_completions
from .openai_embeddings import embeddings
from .openai_models import get_model, list_models
from .openai_responses import responses
from .responses import expect_handler
from .tools_invoke import tools_invoke

ROUTES = {
    "/v1/models": list_models,
    "/v1/models/{id:.+}": get_model,
    "/v1/chat/completions": chat_completions,
    "/v1/responses": responses,
    "/v1/embeddings": embeddings,
    "/tools/invoke": tools_invoke,
}


def add_routes(app: web.Application) -> None:
    """Before the catch-all route; every method reaches the handler (it answers 404/405 itself)."""
    hooks.install(app)
    for path, handler in ROUTES.items():
        app.router.add_route("*", path, handler, expect_handler=expect_handler)


maybe_hook = hooks.maybe_hook
