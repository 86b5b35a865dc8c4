"""Typed keys for what the aiohttp Application carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .services import Services
    from .ws.dispatch import Dispatcher

SERVICES: web.AppKey["Services"] = web.AppKey("services")
DISPATCHER: web.AppKey["Dispatcher"] = web.AppKey("dispatcher")
