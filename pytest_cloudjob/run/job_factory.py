"""The ``cloud_job_factory`` fixture's object: builds jobs for a test and leaves none running after it."""
from __future__ import annotations

from typing import Any

import pytest

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import Job, User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.errors import CloudJobError


class CleanupError(CloudJobError):
    """Jobs a test made could not be cancelled at its end (the end-of-run sweep still looks for them)."""


class CleanupWarning(pytest.PytestWarning):
    """A clean-up that failed, shown once on its test without replacing the test's own verdict."""


class JobFactory:
    """``factory()`` builds a :class:`Job` with the test's defaults; any field can be overridden.
    ``factory.create()`` also creates it as the regular user. Every job built is cancelled at teardown
    if it has not ended."""

    def __init__(self, context: CloudContext, user: User, admin: User | None, *, platform_name: str,
                 pcvl_version: str, process_id: str) -> None:
        self.context = context
        self.user = user
        self.admin = admin
        self.defaults: dict[str, Any] = {"platform_name": platform_name, "job_name": Job.DEFAULT_JOB_NAME,
                                         "pcvl_version": pcvl_version, "process_id": process_id}
        self.jobs: list[Job] = []

    def __call__(self, **fields: Any) -> Job:
        __tracebackhide__ = True
        job = Job(**{**self.defaults, **fields})
        self.jobs.append(job)
        return job

    def create(self, user: User | None = None, create_dict: dict[str, Any] | None = None, **fields: Any) -> Job:
        """Build a :class:`Job` with ``fields`` over the defaults and create it (as ``user``, else the regular user)."""
        job = self(**fields)
        job.create(self.context, user or self.user, create_dict)
        return job

    def cancel_active(self) -> list[str]:
        """Cancel every built job that exists and was not seen ended; return the ids cancelled.

        A job already seen in a terminal status (or cancel requested) is not read again: terminal is final.
        Any other job is cancelled straight away, without a status read first: a 400 means it ended
        meanwhile. Uses the admin when there is one (it sees every user's jobs), else the regular user.
        A cancel the cloud refuses otherwise is raised: a job left running is never silent.
        """
        who = self.admin or self.user
        cancelled, errors = [], []
        for job in self.jobs:
            if not job.job_id or job.history.last in protocol.TERMINAL_STATUSES \
                    or job.history.last == protocol.CANCEL_REQUESTED:
                continue
            try:
                job.cancel(self.context, who)
                cancelled.append(job.job_id)
            except CloudApiError as exc:
                if exc.status == 400:  # it had ended: the protocol refuses to cancel an ended job
                    continue
                errors.append(f"{job.job_id}: {exc}")
        if errors:
            raise CleanupError("cloud_job_factory could not cancel jobs it made: " + "; ".join(errors))
        return cancelled
