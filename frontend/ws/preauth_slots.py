"""Pre-auth WebSocket connections per peer IP: at most MAX_PER_PEER between the upgrade and
hello-ok (or the close), so one peer cannot hold the gateway's handshake capacity (spec S5)."""

from __future__ import annotations

MAX_PER_PEER = 64


class PreauthSlot:
    """One connection's place in its peer's count; `release` is idempotent."""

    __slots__ = ("_slots", "peer")

    def __init__(self, slots: PreauthSlots, peer: str) -> None:
        self._slots: PreauthSlots | None = slots
        self.peer = peer

    def release(self) -> None:
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._release(self.peer)


class PreauthSlots:
    def __init__(self, per_peer: int = MAX_PER_PEER) -> None:
        self.per_peer = per_peer
        self._count: dict[str, int] = {}

    def claim(self, peer: str) -> PreauthSlot | None:
        """A slot for one more pre-auth connection from `peer`, or None when it holds its maximum."""
        n = self._count.get(peer, 0)
        if n >= self.per_peer:
            return None
        self._count[peer] = n + 1
        return PreauthSlot(self, peer)

    def held(self, peer: str) -> int:
        return self._count.get(peer, 0)

    def _release(self, peer: str) -> None:
        n = self._count.get(peer, 0) - 1
        if n > 0:
            self._count[peer] = n
        else:
            self._count.pop(peer, None)
