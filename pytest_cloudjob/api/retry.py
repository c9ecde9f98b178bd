"""When a failed call is tried again: which answers are transient, and how long to wait before the next try."""
from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import requests

#: Answers that say "try again later": rate limited, or a gateway that could not reach the cloud in time.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls are retried: ``attempts`` in all, back-off doubling from ``backoff`` to ``backoff_max``.

    A ``Retry-After`` header is honoured up to ``retry_after_max`` seconds.
    """

    attempts: int = 4
    backoff: float = 0.1
    backoff_max: float = 2.0
    retry_after_max: float = 10.0

    def delay(self, attempt: int, response: requests.Response | None) -> float:
        """Seconds to sleep before attempt number ``attempt + 1`` (``attempt`` counts from 1)."""
        if response is not None:
            hinted = parse_retry_after(response.headers.get("Retry-After"))
            if hinted is not None:
                return min(hinted, self.retry_after_max)
        return min(self.backoff * 2.0 ** (attempt - 1), self.backoff_max)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header, given as seconds or as an HTTP date; ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
