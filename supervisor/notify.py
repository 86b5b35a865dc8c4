"""systemd's notify protocol (`Type=notify`, `WatchdogSec=`): one datagram per state.

READY=1 once the listener is bound and the front-end and workers are Ready; RELOADING=1 ...
READY=1 around a reload or restart; STOPPING=1 on stop; WATCHDOG=1 every WATCHDOG_USEC/2,
but only while the front-end heartbeats (a wedged front-end lets systemd act); STATUS= a
one-line state. Inert without NOTIFY_SOCKET.
"""

from __future__ import annotations

import os
import socket
import time

from openclaw.ipc.logs import get_logger

log = get_logger("supervisor/notify")


class Notifier:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = env.get("NOTIFY_SOCKET") or None
        self.watchdog_s: float | None = None
        usec = env.get("WATCHDOG_USEC")
        wpid = env.get("WATCHDOG_PID")
        if self.address and usec and usec.isdigit() and int(usec) > 0 and (not wpid or wpid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1_000_000
        self._sock: socket.socket | None = None
        self._status = ""
        if self.address:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            except OSError as exc:
                log.warn("cannot open the notify socket", error=str(exc))
        # never passed on: a child must not talk to systemd as if it were the service
        for var in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            os.environ.pop(var, None)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def _send(self, text: str) -> None:
        if self._sock is None or self.address is None:
            return
        addr = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            self._sock.sendto(text.encode(), addr)
        except OSError as exc:
            log.warn("notify failed", error=str(exc))

    def ready(self, status: str) -> None:
        self._status = status
        self._send(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")

    def reloading(self, status: str) -> None:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._status = status
        self._send(f"RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS={status}")

    def stopping(self, status: str) -> None:
        self._status = status
        self._send(f"STOPPING=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self._send(f"STATUS={status}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
