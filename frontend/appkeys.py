"""Typed keys for what the aiohttp Application carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .services import Services
    from .ws.dispatch import Dispatcher
    from .ws.origin_policy import OriginPolicy
    from .ws.preauth_slots import PreauthSlots

SERVICES: web.AppKey["Services"] = web.AppKey("services")
DISPATCHER: web.AppKey["Dispatcher"] = web.AppKey("dispatcher")
ORIGIN_POLICY: web.AppKey["OriginPolicy"] = web.AppKey("origin_policy")
PREAUTH_SLOTS: web.AppKey["PreauthSlots"] = web.AppKey("preauth_slots")
