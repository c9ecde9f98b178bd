"""A deadline shared by every call in a block, so a wait's timeout holds however the cloud (mis)behaves.

A timeout per call is not a deadline: a cloud that accepts connections and never answers makes each
attempt wait the whole read timeout, and retries multiply it (a 5 s wait once took 120 s). Inside
:func:`calls_end_by`, :class:`~pytest_cloudjob.api.client.Api` cuts each attempt's connect and read
timeouts to the time left and starts no retry that could not end before it. A context variable rather
than a parameter, so it reaches every call a block makes, through the seed's method signatures.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from urllib3.util import Timeout

#: The shortest timeout an attempt gets under a deadline, so a call made at the deadline can still be answered.
MIN_ATTEMPT_SECONDS = 0.05

_deadline: ContextVar[float | None] = ContextVar("pytest_cloudjob_calls_deadline", default=None)


@contextmanager
def calls_end_by(deadline: float) -> Iterator[None]:
    """Every call made inside the block ends by ``deadline`` (``time.monotonic()`` seconds).

    Nested blocks keep the earlier deadline. ``Job.wait_until`` uses this so its timeout holds on a silent cloud.
    """
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(deadline, current))
    try:
        yield
    finally:
        _deadline.reset(token)


def current_deadline() -> float | None:
    """The deadline of the innermost :func:`calls_end_by` block, or ``None`` outside any."""
    return _deadline.get()


def attempt_timeout(connect: float, read: float, deadline: float | None) -> tuple[float, float] | Timeout:
    """The timeouts of one attempt: the configured ones, cut to the time left before ``deadline`` (connect
    and read together, through urllib3's ``total``)."""
    if deadline is None:
        return (connect, read)
    left = max(deadline - time.monotonic(), MIN_ATTEMPT_SECONDS)
    return Timeout(connect=min(connect, left), read=min(read, left), total=left)


def can_retry(deadline: float | None, delay: float) -> bool:
    """Whether a retry after ``delay`` seconds would still start before ``deadline``."""
    return deadline is None or time.monotonic() + delay < deadline
