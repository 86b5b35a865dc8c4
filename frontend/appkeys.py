"""Typed keys for what the aiohttp Application carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .context import Frontend

FRONTEND: web.AppKey["Frontend"] = web.AppKey("frontend")
