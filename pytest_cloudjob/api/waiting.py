"""Waiting for a job: every observed status is recorded, checked against the state machine, and
polled adaptively, fast at first, backing off to a cap, and aiming at the end the progress predicts.

The deadline holds even when the cloud stops answering: ``Job.wait_until`` cuts every status call to the
time left (plus ``PollingPolicy.last_call_grace``), and a call cut that way ends the wait as a timeout.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.errors import CloudApiError, excerpt, printable
from pytest_cloudjob.api.retry import RETRYABLE_STATUSES
from pytest_cloudjob.errors import CloudJobError


@dataclass(frozen=True)
class Observation:
    """One status seen: when (seconds on the monotonic clock), what, and how far."""

    at: float
    status: str
    progress: float | None = None

    def describe(self, origin: float) -> str:
        progress = "" if self.progress is None else f" ({self.progress:.0%})"
        return f"+{self.at - origin:.3f}s {self.status}{progress}"


class JobWaitError(CloudJobError):
    """A wait that did not end in a wanted status; names the job, what was wanted and what was seen."""

    def __init__(self, job_id: str, reason: str, expected: Iterable[str], history: StatusHistory) -> None:
        self.job_id = job_id
        self.expected = sorted(expected)
        self.history = history
        self.reason = reason
        super().__init__(printable(
            f"job {job_id}: {reason}; expected {' or '.join(self.expected) or 'any status'}; "
            f"history: {history.describe()}"
        ))


class WaitTimeoutError(JobWaitError):
    """The deadline passed before the job reached a wanted status (a harness-side verdict)."""


class IllegalTransitionError(JobWaitError):
    """The cloud moved a job along an edge the state machine does not have (a cloud defect)."""


class UnexpectedEndError(JobWaitError):
    """The job ended in a terminal status other than the wanted ones; says why when the cloud did.

    ``failure_code`` and ``status_message`` are those of the last status body (``None`` when absent), and
    ``body`` is that body.
    """

    def __init__(self, job_id: str, status: str, body: dict[str, Any], expected: Iterable[str],
                 history: StatusHistory) -> None:
        self.body = body
        self.failure_code = body.get("failure_code")
        self.status_message = body.get("status_message")
        super().__init__(job_id, f"job ended as {status}{_why(body)}", expected, history)


class ResultsNotReadyError(JobWaitError):
    """Results were read from a job that has none yet (``results: null`` while it is not completed)."""


def _why(body: dict[str, Any]) -> str:
    """`` (failure_code: X; status_message: Y)`` from a status body, or ``""`` when the cloud said neither."""
    code, message = body.get("failure_code"), body.get("status_message")
    parts = []
    if code not in (None, ""):
        parts.append(f"failure_code: {excerpt(code, 80)}")
    if message not in (None, ""):
        parts.append(f"status_message: {excerpt(message, 200)}")
    return f" ({'; '.join(parts)})" if parts else ""


@dataclass
class StatusHistory:
    """Every status observed for one job, in order, with the transition check applied on entry."""

    job_id: str = ""
    observations: list[Observation] = field(default_factory=list)

    def record(self, body: dict[str, Any], *, clock: Callable[[], float] = time.monotonic) -> Observation:
        """Add the status of ``body``; raise :class:`IllegalTransitionError` if the move is illegal."""
        __tracebackhide__ = True
        status = body.get("status") if isinstance(body, dict) else None
        if status not in protocol.ALL_STATUSES:
            raise IllegalTransitionError(
                self.job_id, f"the cloud answered an unknown status {status!r}", protocol.ALL_STATUSES, self
            )
        progress = _as_float(body.get("progress"))
        obs = Observation(clock(), status, progress)
        previous = self.observations[-1].status if self.observations else None
        self.observations.append(obs)
        if previous is not None and not protocol.is_reachable(previous, status):
            raise IllegalTransitionError(
                self.job_id, f"illegal transition {previous} -> {status}", protocol.ALL_STATUSES, self
            )
        return obs

    @property
    def last(self) -> str | None:
        return self.observations[-1].status if self.observations else None

    def statuses(self) -> list[str]:
        """The distinct statuses in the order they were first seen in a row (``waiting, running, completed``)."""
        out: list[str] = []
        for obs in self.observations:
            if not out or out[-1] != obs.status:
                out.append(obs.status)
        return out

    def describe(self, separator: str = ", ") -> str:
        """One line: the runs of each status with their first time, e.g. ``+0.000s waiting x3, +0.21s running``."""
        if not self.observations:
            return "(no status observed)"
        origin = self.observations[0].at
        parts: list[str] = []
        count = 0
        for i, obs in enumerate(self.observations):
            count += 1
            nxt = self.observations[i + 1] if i + 1 < len(self.observations) else None
            if nxt is None or nxt.status != obs.status:
                first = self.observations[i - count + 1]
                parts.append(first.describe(origin) + (f" x{count}" if count > 1 else ""))
                count = 0
        return separator.join(parts)

    def predicted_remaining(self, now: float) -> float | None:
        """Seconds until the job should end, from the rate of its progress; ``None`` when unknown.

        Only while the job is still seen running: a job cancelled or suspended since will not end when its
        old progress rate says.
        """
        if self.last != protocol.RUNNING:
            return None
        running = [o for o in self.observations if o.status == protocol.RUNNING and o.progress is not None]
        if len(running) < 2:
            return None
        a, b = running[0], running[-1]
        if b.at <= a.at or b.progress <= a.progress:  # type: ignore[operator]
            return None
        rate = (b.progress - a.progress) / (b.at - a.at)  # type: ignore[operator]
        return max(0.0, (1.0 - b.progress) / rate - (now - b.at))  # type: ignore[operator]


@dataclass(frozen=True)
class PollingPolicy:
    """Poll after ``first`` seconds, then ``factor`` times longer each time up to ``cap``.

    When progress predicts the end, the next poll aims just past it (but never waits longer than
    ``predicted_cap``), so a long job is seen ending within tens of milliseconds with few calls.
    """

    first: float = 0.05
    factor: float = 1.5
    cap: float = 1.0
    floor: float = 0.01
    predicted_cap: float = 30.0
    aim_past_end: float = 0.01
    #: How long a status call started just before the deadline may still take (so the wait's timeout T
    #: holds to within T plus this, even against a cloud that never answers).
    last_call_grace: float = 1.0

    def next_delay(self, polls: int, predicted: float | None) -> float:
        backoff = min(self.first * self.factor ** max(0, polls - 1), self.cap)
        if predicted is None:
            return backoff
        if predicted > 0.5:
            return min(predicted * 0.8, self.predicted_cap)
        return max(self.floor, predicted + self.aim_past_end)


#: The statuses a running job reaches by running to its end, the ones its progress predicts.
FINISHED = frozenset({protocol.COMPLETED, protocol.ERROR})


#: Status reads in a row that may fail transiently (each after its own retries) before a wait gives up: one
#: burst of 503s or dropped connections is survived, a cloud that is down still ends the wait at once.
MAX_FAILED_POLLS = 3


def wait_for(
    fetch_status: Callable[[], dict[str, Any]],
    until: Iterable[str],
    timeout: float,
    history: StatusHistory,
    *,
    policy: PollingPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll ``fetch_status`` until its ``status`` is in ``until``; return that status body.

    ``fetch_status`` must record each body in ``history`` (``Job.get_status`` does), which checks every
    transition. Raises :class:`WaitTimeoutError` at the deadline (also when a status call fails with a
    transport error past it: the cloud stopped answering in time) and :class:`UnexpectedEndError` as soon
    as the job ends in a status that is not wanted, each with the history. A status read that failed
    transiently after its own retries (429, 502-504, a transport error) is polled again, up to
    ``MAX_FAILED_POLLS`` in a row; any other error is raised at once.
    """
    __tracebackhide__ = True
    wanted = frozenset(until)
    unknown = wanted - protocol.ALL_STATUSES
    if unknown:
        raise ValueError(f"cannot wait for unknown statuses {sorted(unknown)}; known: {sorted(protocol.ALL_STATUSES)}")
    policy = policy or PollingPolicy()
    deadline = clock() + timeout
    polls = 0
    failed_in_a_row = 0
    while True:
        try:
            body = fetch_status()
        except CloudApiError as exc:
            if exc.kind == "transport" and clock() >= deadline:
                raise WaitTimeoutError(
                    history.job_id, f"no answer in time: still {history.last or 'unseen'} after {timeout:g}s "
                    f"({polls + 1} status call{'s' if polls else ''}, the last one: {exc})", wanted, history) from None
            failed_in_a_row += 1
            transient = exc.kind == "transport" or exc.status in RETRYABLE_STATUSES
            if not transient or failed_in_a_row >= MAX_FAILED_POLLS or clock() >= deadline:
                raise
            # One read that stayed transient through its own retries (a 503 burst, a dropped connection) is not
            # the cloud's verdict on the job: poll again, but a cloud that keeps failing ends the wait soon.
            polls += 1
            sleep(min(policy.next_delay(polls, None), max(0.0, deadline - clock())))
            continue
        failed_in_a_row = 0
        polls += 1
        status = history.last
        if status in wanted:
            return body
        if status in protocol.TERMINAL_STATUSES:
            raise UnexpectedEndError(history.job_id, status, body, wanted, history)
        now = clock()
        if now >= deadline:
            raise WaitTimeoutError(
                history.job_id, f"still {status} after {timeout:g}s ({polls} status calls)", wanted, history
            )
        # The progress rate predicts when a job finishes, not when a cancel or a suspension lands.
        predicted = history.predicted_remaining(now) if wanted & FINISHED else None
        delay = policy.next_delay(polls, predicted)
        sleep(min(delay, max(0.0, deadline - now)))


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
