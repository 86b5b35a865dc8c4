"""The one signature of a method the front-end answers itself:

    handler(svc, conn, params) -> bytes | Awaitable[bytes]

`params` is the request's raw JSON (b"" when absent); the answer is the payload's JSON,
now or later. Raise GatewayError for a caller's mistake; anything else is a bug and
becomes a retryable UNAVAILABLE (ws/dispatch.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..caller import Connection

if TYPE_CHECKING:
    from ..services import Services

Answer = bytes | Awaitable[bytes]
LocalMethod = Callable[["Services", Connection, bytes], Answer]
