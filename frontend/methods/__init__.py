"""Methods the front-end answers itself. Everything else is routed to the worker
that registered it (see frontend/router.py)."""

from __future__ import annotations

from .config_get import config_get
from .health import health
from .logs_tail import logs_tail
from .presence import system_event, system_presence
from .restart import restart_request
from .status import status

LOCAL_METHODS = {
    "health": health,
    "status": status,
    "system-presence": system_presence,
    "system-event": system_event,
    "config.get": config_get,
    "logs.tail": logs_tail,
    "gateway.restart.request": restart_request,
}
