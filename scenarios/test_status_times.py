"""The time fields of the status body agree with each other and with the client's clock (docs/protocol.md, "Status
body"): a job starts no earlier than it was created and no later than it ended, lasts no negative time, and its
times are Unix seconds (within a day of the client's clock; its duration no longer than the client saw it take).
Scenario matchers check one field at a time, so these comparisons are a Python test using the plugin's
fixtures, part of the shipped suite."""
from __future__ import annotations

import inspect
import time

import pytest

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.run.job_factory import JobFactory
from pytest_cloudjob.run.target import CloudRun

DAY = 86_400.0  # a cloud's clock may be off the client's; by a day, it is not counting seconds
ROUNDING = 1.0  # duration may be whole seconds (Perceval's JobStatus types it int)


def _fail_here(message: str) -> None:
    """Fail with ``file:line: message`` only, like a scenario step: the line is the caller's check."""
    caller = inspect.stack()[1]
    pytest.fail(f"{caller.filename}:{caller.lineno}: {message}", pytrace=False)


@pytest.mark.lifecycle
def test_a_completed_job_started_after_it_was_created(cloud_job_factory: JobFactory, cloud_context: CloudContext,
                                                      cloud_user: User, cloud_run: CloudRun) -> None:
    before = time.time()
    job = cloud_job_factory.create()
    body = job.wait_until(cloud_context, cloud_user, "completed", timeout=cloud_run.settings.timeout)
    seen = time.time() - before
    created, started, duration = body.get("creation_datetime"), body.get("start_time"), body.get("duration")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (created, started, duration))
    if not numbers:
        _fail_here(f"job {job.job_id}: creation_datetime, start_time and duration must be numbers once completed, "
                   f"got {created!r}, {started!r}, {duration!r}")
    if started < created:  # type: ignore[operator]
        _fail_here(f"job {job.job_id}: start_time {started} is before creation_datetime {created} "
                   f"({created - started:.3f} s earlier)")  # type: ignore[operator]
    if duration < 0:  # type: ignore[operator]
        _fail_here(f"job {job.job_id}: negative duration {duration}")
    if abs(created - before) > DAY:  # type: ignore[operator]
        _fail_here(f"job {job.job_id}: creation_datetime {created} is not Unix time in seconds "
                   f"(the client's clock says {before:.0f})")
    if duration > seen + ROUNDING:  # type: ignore[operator]
        _fail_here(f"job {job.job_id}: duration {duration} is longer than the {seen:.3f} s the client saw from "
                   f"before its create to its end: not seconds")
    if started > created + duration + ROUNDING:  # type: ignore[operator]
        _fail_here(f"job {job.job_id}: start_time {started} is after its end (creation_datetime {created} + "
                   f"duration {duration})")


@pytest.mark.cancel
def test_a_canceled_job_has_its_times_in_seconds_and_in_order(cloud_context: CloudContext, cloud_user: User,
                                                              cloud_run: CloudRun, cloud_slow_platform: str) -> None:
    """Every end has its times, cancelled included: a job cancelled while it ran (on the slow platform: it
    certainly runs) started after its creation and before its end, all in Unix seconds."""
    factory = JobFactory(cloud_context, cloud_user, cloud_run.user("admin"), platform_name=cloud_slow_platform,
                         pcvl_version=cloud_run.settings.pcvl_version, process_id=cloud_run.run_id)
    try:
        before = time.time()
        job = factory.create()
        job.wait_until(cloud_context, cloud_user, "running", timeout=cloud_run.settings.timeout)
        job.cancel(cloud_context, cloud_user)
        body = job.wait_until(cloud_context, cloud_user, "canceled", timeout=cloud_run.settings.timeout)
        seen = time.time() - before
    finally:
        factory.cancel_active()
    created, started, duration = body.get("creation_datetime"), body.get("start_time"), body.get("duration")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (created, started, duration))
    if not numbers:
        _fail_here(f"job {job.job_id}: creation_datetime, start_time and duration must be numbers once canceled "
                   f"after it ran, got {created!r}, {started!r}, {duration!r}")
    if abs(created - before) > DAY or not 0 <= duration <= seen + ROUNDING:  # type: ignore[operator]
        _fail_here(f"job {job.job_id}: creation_datetime {created} and duration {duration} are not Unix seconds "
                   f"(the client's clock says {before:.0f}, and saw the job end after {seen:.3f} s)")
    if not created <= started <= created + duration + ROUNDING:  # type: ignore[operator]
        _fail_here(f"job {job.job_id}: start_time {started} is not between creation_datetime {created} and its "
                   f"end (+ duration {duration})")
