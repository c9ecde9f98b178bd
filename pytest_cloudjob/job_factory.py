"""The ``cloud_job_factory`` fixture's object: builds jobs for a test and leaves none running after it."""
from __future__ import annotations

from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import Job, User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.errors import CloudJobError


class CleanupError(CloudJobError):
    """Jobs a test made could not be cancelled at its end (the end-of-run sweep still looks for them)."""


class JobFactory:
    """``factory()`` builds a :class:`Job` with the test's defaults; any field can be overridden.
    ``factory.create()`` also creates it as the regular user. Every job built is cancelled at teardown
    if it has not ended."""

    def __init__(self, context: CloudContext, user: User, admin: User | None, *, platform_name: str,
                 pcvl_version: str, process_id: str) -> None:
        self.context = context
        self.user = user
        self.admin = admin
        self.defaults: dict[str, Any] = {"platform_name": platform_name, "job_name": "qa_job",
                                         "pcvl_version": pcvl_version, "process_id": process_id}
        self.jobs: list[Job] = []

    def __call__(self, **fields: Any) -> Job:
        job = Job(**{**self.defaults, **fields})
        self.jobs.append(job)
        return job

    def create(self, user: User | None = None, create_dict: dict[str, Any] | None = None, **fields: Any) -> Job:
        job = self(**fields)
        job.create(self.context, user or self.user, create_dict)
        return job

    def cancel_active(self) -> list[str]:
        """Cancel every built job that exists and has not ended; return their ids.

        Uses the admin when there is one (it sees every user's jobs), else the regular user. A cancel the
        cloud refuses is raised: a job left running is the cloud's or the test's fault, never silent.
        """
        who = self.admin or self.user
        cancelled, errors = [], []
        for job in self.jobs:
            if not job.job_id:
                continue
            try:
                status = Job(job_id=job.job_id).get_status(self.context, who).get("status")
                if status in protocol.TERMINAL_STATUSES or status == protocol.CANCEL_REQUESTED:
                    continue
                job.cancel(self.context, who)
                cancelled.append(job.job_id)
            except CloudApiError as exc:
                if exc.status == 400:  # it ended between the status and the cancel
                    continue
                errors.append(f"{job.job_id}: {exc}")
        if errors:
            raise CleanupError("cloud_job_factory could not cancel jobs it made: " + "; ".join(errors))
        return cancelled
