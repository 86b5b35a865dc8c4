"""`health`: the cached snapshot (frontend/health_state.py); answering is a byte copy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..caller import Connection

if TYPE_CHECKING:
    from ..services import Services


def health(svc: Services, conn: Connection, raw: bytes) -> bytes:
    return svc.health.payload
