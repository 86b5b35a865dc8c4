"""Messages an internal socket refuses (malformed, oversize, from a peer that may not send them):
counted always, logged once per peer, never once per message.

The first refusal from each peer is logged with its reason; later ones only count, and a
summary line says how many there were (at most once a minute while refusals go on, and once
when the socket closes). A flood of junk from one local process costs a counter increment,
not a log line, and the log still says who sent junk first and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .logs import Logger

MAX_PEERS = 64  # peers remembered for "first refusal" lines; beyond that, only counted
SUMMARY_EVERY_S = 60.0
MAX_REASON = 200


def peer_label(peer: bytes | None) -> str | None:
    """A routing identity as text for a log line (identities are arbitrary bytes)."""
    if peer is None:
        return None
    return peer[:64].decode("utf-8", errors="backslashreplace")


class DropLog:
    def __init__(self, log: Logger, socket: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.socket = socket
        self.clock = clock
        self.total = 0
        self._seen: set[bytes | None] = set()
        self._unreported = 0
        self._last_summary = clock()

    def record(self, peer: bytes | None, reason: str) -> None:
        self.total += 1
        if peer not in self._seen and len(self._seen) < MAX_PEERS:
            self._seen.add(peer)
            self.log.warn(
                "dropped a malformed internal message", socket=self.socket, peer=peer_label(peer),
                reason=reason[:MAX_REASON], dropped=self.total,
            )
            return
        self._unreported += 1
        now = self.clock()
        if now - self._last_summary >= SUMMARY_EVERY_S:
            self._summary(now)

    def _summary(self, now: float) -> None:
        self._last_summary = now
        self.log.warn(
            "still dropping malformed internal messages", socket=self.socket, since_last=self._unreported,
            dropped=self.total, peers=len(self._seen),
        )
        self._unreported = 0

    def close(self) -> None:
        """The socket is closing: say how many messages it refused in all, if any."""
        if self.total:
            self.log.info(
                "malformed internal messages dropped in total", socket=self.socket, dropped=self.total,
                peers=len(self._seen),
            )
