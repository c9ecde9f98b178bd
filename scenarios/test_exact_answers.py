"""Answers the scenario language cannot name (docs/protocol.md, "Conventions", "Cancel many"): a token that is
almost a real one, and cancel-many's outcome keyed by each job's id. Python tests using the plugin's fixtures,
part of the shipped suite, failing with ``file:line: message`` as a scenario step does."""
from __future__ import annotations

import inspect
import uuid

import pytest

from pytest_cloudjob.api.client import ANY_STATUS, CloudContext
from pytest_cloudjob.api.cloud_objects import Job, User
from pytest_cloudjob.run.job_factory import JobFactory
from pytest_cloudjob.run.target import CloudRun


def _fail_here(message: str) -> None:
    """Fail with ``file:line: message`` only, like a scenario step: the line is the caller's check."""
    caller = inspect.stack()[1]
    pytest.fail(f"{caller.filename}:{caller.lineno}: {message}", pytrace=False)


@pytest.mark.security
def test_a_token_that_is_almost_right_is_refused(cloud_context: CloudContext, cloud_user: User) -> None:
    """A token is compared whole: the user's token cut short by one character, or with one more, is 401
    (each is registered as a secret, so no report shows it)."""
    token = cloud_user.get_token()
    for what, almost in (("cut short by one character", token[:-1]), ("with one character more", token + "0")):
        caller = User(token=almost, name="almost-right")
        # retried as every read is (a 503 or a dropped answer is a transient fault, not the answer checked)
        answer = cloud_context.api.request("GET", "/api/jobs/availability", caller.get_token(), retry=True,
                                           ok_statuses=ANY_STATUS)
        if answer.status_code != 401:
            _fail_here(f"the user's token {what}: GET /api/jobs/availability answered {answer.status_code}, not 401")


@pytest.mark.admin
def test_cancel_many_answers_each_id_by_its_state(cloud_job_factory: JobFactory, cloud_context: CloudContext,
                                                  cloud_user: User, cloud_admin: User, cloud_run: CloudRun,
                                                  cloud_slow_platform: str) -> None:
    """One outcome per id, by the job's state: ``canceled`` or ``cancel_requested`` for an active job,
    ``already_completed`` for a completed job (which stays completed), ``not_found`` for an id the cloud never
    gave."""
    active = cloud_job_factory.create(platform_name=cloud_slow_platform)
    job = cloud_job_factory.create()
    job.wait_until(cloud_context, cloud_user, "completed", timeout=cloud_run.settings.timeout)
    unknown = f"qa-no-such-job-{uuid.uuid4().hex}"
    outcomes = Job.cancel_many(cloud_context, [active, job, Job(job_id=unknown)], cloud_admin)
    expected = {active.job_id: "canceled or cancel_requested", job.job_id: "already_completed", unknown: "not_found"}
    if set(outcomes) != set(expected) or outcomes[active.job_id] not in ("canceled", "cancel_requested") \
            or outcomes[job.job_id] != "already_completed" or outcomes[unknown] != "not_found":
        _fail_here(f"cancel-many of an active job, a completed job and an unknown id: expected {expected}, "
                   f"got {outcomes}")
