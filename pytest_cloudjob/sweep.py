"""The end-of-run leak sweep: list the run's jobs as admin, cancel those still active, count each as a leak."""
from __future__ import annotations

from pytest_cloudjob import protocol
from pytest_cloudjob.api.cloud_objects import Job
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.redaction import redact
from pytest_cloudjob.target import CloudRun

#: Statuses of a job that may still be running on the cloud. ``cancel_requested`` is not one: the cloud
#: has already been asked to end it.
LEAKING_STATUSES = protocol.ACTIVE_STATUSES - {protocol.CANCEL_REQUESTED}


def sweep(run: CloudRun) -> None:
    """List this run's jobs as admin and cancel those still active: each one is a leak, a failure."""
    admin = run.user("admin")
    if admin is None:
        run.sweep_error = "no admin token: the run's jobs could not be listed (set CLOUDJOB_ADMIN_TOKEN)"
        return
    context = run.context()
    try:
        jobs = Job.list_all(context, admin, process_id=run.run_id)
        active = [job for job in jobs if getattr(job, "status", None) in LEAKING_STATUSES]
        run.swept = len(jobs)
        run.leaks = [(job.job_id, job.platform_name, str(getattr(job, "status", "?")), run.stats.test_of(job.job_id))
                     for job in active]
        if active:
            Job.cancel_many(context, active, admin)
    except (CloudApiError, AssertionError) as exc:
        run.sweep_error = redact(f"the leak sweep failed: {exc}")
    finally:
        context.close()
