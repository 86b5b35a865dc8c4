"""When to retry a provider call and how long to wait (the policy catalog.py and embeddings.py share)."""

from __future__ import annotations

import random

from .base import ProviderError

RETRY_ATTEMPTS = 4  # tries per model, the first included
RETRY_BASE_S = 0.5
RETRY_MAX_BACKOFF_S = 8.0
RETRY_MAX_WAIT_S = 30.0  # one Retry-After longer than this is not waited for
RETRY_TOTAL_WAIT_S = 60.0  # total waiting per model


def retry_wait(error: ProviderError, attempt: int, waited: float) -> float | None:
    """Seconds to wait before try `attempt + 1` of a model, or None to give up on it."""
    if not error.retryable or attempt >= RETRY_ATTEMPTS:
        return None
    if error.retry_after is not None:
        wait = error.retry_after
        if wait > RETRY_MAX_WAIT_S:
            return None
    else:
        wait = min(RETRY_MAX_BACKOFF_S, RETRY_BASE_S * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
    if waited + wait > RETRY_TOTAL_WAIT_S:
        return None
    return wait
