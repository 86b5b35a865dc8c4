"""aiohttp's own `logging` records go to the gateway's JSON log, one line each, never as a
traceback on stderr: what a client sends must not be able to fill the log (spec S6). Our own
handler failures are logged with their traceback where they are caught (http/server.py)."""

from __future__ import annotations

import logging

from openclaw.ipc.logs import get_logger

LIBRARIES = ("aiohttp",)


class _ToGatewayLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.log = get_logger("gateway/http")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break logging
            message = str(record.msg)
        fields = {"logger": record.name}
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = repr(record.exc_info[1])[:500]
        if record.levelno >= logging.WARNING:
            self.log.warn(message, **fields)
        elif record.levelno >= logging.INFO:
            self.log.info(message, **fields)
        else:
            self.log.debug(message, **fields)


def route_library_logs() -> None:
    handler = _ToGatewayLog()
    for name in LIBRARIES:
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.propagate = False
        lg.setLevel(logging.INFO)
