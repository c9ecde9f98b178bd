"""The time fields of the status body agree with each other (docs/protocol.md, "Status body"): a job starts no
earlier than it was created and lasts no negative time. Scenario matchers check one field at a time, so
this comparison of two fields is a Python test using the plugin's fixtures, part of the shipped suite."""
from __future__ import annotations

import inspect

import pytest

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.run.job_factory import JobFactory
from pytest_cloudjob.run.target import CloudRun


def _fail_here(message: str) -> None:
    """Fail with ``file:line: message`` only, like a scenario step: the line is the caller's check."""
    caller = inspect.stack()[1]
    pytest.fail(f"{caller.filename}:{caller.lineno}: {message}", pytrace=False)


@pytest.mark.lifecycle
def test_a_completed_job_started_after_it_was_created(cloud_job_factory: JobFactory, cloud_context: CloudContext,
                                                      cloud_user: User, cloud_run: CloudRun) -> None:
    job = cloud_job_factory.create()
    body = job.wait_until(cloud_context, cloud_user, "completed", timeout=cloud_run.settings.timeout)
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
