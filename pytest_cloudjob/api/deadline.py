"""A deadline shared by every call in a block, so a wait's timeout holds however the cloud (mis)behaves.

A timeout per call is not a deadline: a cloud that accepts connections and never answers makes each
attempt wait the whole read timeout, and retries multiply it (a 5 s wait once took 120 s). Inside
:func:`calls_end_by`, :class:`~pytest_cloudjob.api.client.Api` cuts each attempt's connect and read
timeouts to the time left and starts no retry that could not end before it, and the transport has the
:data:`WATCHDOG` shut the socket of an answer still arriving past the deadline. A context variable rather
than a parameter, so it reaches every call a block makes, through the seed's method signatures.
"""
from __future__ import annotations

import contextlib
import heapq
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

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


def enter(deadline: float) -> Token[float | None]:
    """Make ``deadline`` the current one (the caller has taken the earlier of it and the current one);
    :func:`leave` with the token restores the previous. :func:`calls_end_by` without a generator, for the
    client's every call."""
    return _deadline.set(deadline)


def leave(token: Token[float | None]) -> None:
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


#: How long after its deadline a call still being answered has its socket shut: the cut timeouts fire first
#: (a clearer "timed out"); this catches a cloud that trickles its answer a byte at a time inside them.
CUT_AFTER_SECONDS = 0.1


class Watch:
    """One request watched by :data:`WATCHDOG`: its connection is shut if still its own past ``at``
    (``fired``: what was read after that is not an answer, however well-formed it looks)."""

    __slots__ = ("at", "connection", "live", "fired")

    def __init__(self, at: float, connection: Any) -> None:
        self.at = at
        self.connection = connection
        self.live = True
        self.fired = False

    def __lt__(self, other: Watch) -> bool:
        return self.at < other.at


class Watchdog:
    """One daemon thread that shuts the socket of every watched request still unanswered past its deadline.

    A timeout bounds each socket read, not a whole answer: a cloud sending one byte per second keeps every
    read under its timeout forever. Shutting the socket ends the blocked read at once, in any phase (status
    line, headers, body), over HTTP or TLS. A connection is pooled and reused, so it names the request that
    owns it (``connection.cloudjob_watch``, set under this lock when each request starts): a late watch
    never shuts a connection another request has taken since. One thread and a heap, not a timer per call,
    so a status poll pays a lock and a push.
    """

    def __init__(self) -> None:
        self._heap: list[Watch] = []
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, connection: Any) -> Watch:
        """Make a new request the owner of ``connection``, to be cut at ``deadline``."""
        entry = Watch(deadline + CUT_AFTER_SECONDS, connection)
        with self._lock:
            connection.cloudjob_watch = entry
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pytest-cloudjob-deadline", daemon=True)
                self._thread.start()
            self._lock.notify()
        return entry

    def disown(self, connection: Any) -> None:
        """A request without a deadline starts on ``connection``: no earlier watch may cut it."""
        with self._lock:
            connection.cloudjob_watch = None

    def release(self, entry: Watch) -> None:
        """The request was answered: never cut it."""
        with self._lock:
            entry.live = False

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and not self._heap[0].live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait()
                    continue
                left = self._heap[0].at - time.monotonic()
                if left > 0:
                    self._lock.wait(left)
                    continue
                entry = heapq.heappop(self._heap)
                sock = getattr(entry.connection, "sock", None)
                if entry.live and getattr(entry.connection, "cloudjob_watch", None) is entry and sock is not None:
                    entry.fired = True
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                entry.live = False


#: The process's watchdog, started on the first watched call.
WATCHDOG = Watchdog()
