"""Methods the front-end answers itself (signature: base.py). Everything else is routed to the
worker that registered it (frontend/router.py)."""

from __future__ import annotations

from .base import LocalMethod
from .channel_pairing import channels_pairing_approve, channels_pairing_dismiss, channels_pairing_list
from .channels import channels_status
from .config import config_apply, config_get, config_patch
from .diagnostics import diagnostics_stability
from .health import health
from .logs_tail import logs_tail
from .presence import system_event, system_presence
from .restart import restart_request
from .send import message_action, send
from .status import status

LOCAL_METHODS: dict[str, LocalMethod] = {
    "health": health,
    "status": status,
    "system-presence": system_presence,
    "system-event": system_event,
    "channels.status": channels_status,
    "channels.pairing.list": channels_pairing_list,
    "channels.pairing.approve": channels_pairing_approve,
    "channels.pairing.dismiss": channels_pairing_dismiss,
    "send": send,
    "message.action": message_action,
    "diagnostics.stability": diagnostics_stability,
    "config.get": config_get,
    "config.apply": config_apply,
    "config.patch": config_patch,
    "logs.tail": logs_tail,
    "gateway.restart.request": restart_request,
    "gateway.restart": restart_request,
}
