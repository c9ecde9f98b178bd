"""The end-of-run leak sweep: list the run's jobs as admin, cancel those still active, count each as a leak.

It runs when the run ends however it ends (tests done, Ctrl-C, SIGTERM), so it must be bounded in time,
must not depend on the cloud answering well (records are read as plain data, whatever their fields),
and one failed cancel must not stop the others. Its calls are not reported as steps of a test: the
sweep belongs to no test (under Allure, after Ctrl-C, there is no current test to attach them to).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import DEFAULT_MAX_RESPONSE_BYTES, CloudContext, RetryPolicy, calls_end_by
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.api.records import SilentReporter, reporting_to
from pytest_cloudjob.redaction import redact
from pytest_cloudjob.run.job_traces import JobTrace
from pytest_cloudjob.run.target import CloudRun

#: Statuses of a job that has ended, or that the cloud has already been asked to end.
NOT_LEAKING_STATUSES = protocol.TERMINAL_STATUSES | {protocol.CANCEL_REQUESTED}
#: The whole sweep's time budget, in seconds: a CI runner that sent SIGTERM waits only so long.
SWEEP_DEADLINE = 30.0
#: The test named for a listed job that no report of this run mentions (an xdist worker that crashed).
UNKNOWN_TEST = "an unknown test (its worker's records were lost)"


@dataclass(frozen=True)
class ListedJob:
    """One listing record, read defensively: any field may be missing or of any type."""

    job_id: str
    platform: str
    status: str

    @classmethod
    def from_record(cls, record: Any) -> ListedJob | None:
        if not isinstance(record, dict):
            return None
        job_id = record.get("job_id", record.get("id"))
        if not isinstance(job_id, str) or not job_id:
            return None
        return cls(job_id, str(record.get("platform_name", "?")), str(record.get("status", "?")))



class _Clock:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def sweep(run: CloudRun, deadline: float = SWEEP_DEADLINE) -> None:
    """List this run's jobs as admin and cancel those still active: each one is a leak, a failure.

    Sets ``run.swept``, ``run.leaks``, ``run.unknown_statuses`` and, if the sweep could not complete,
    ``run.sweep_error`` (one line naming why); reconciles the run's statistics with the listing.
    """
    admin = run.user("admin")
    if run.settings.no_sweep or admin is None:
        run.sweep_skipped = True
        return
    cloud = run.reference_cloud
    if cloud is not None and cloud.process.poll() is not None:
        run.sweep_error = (f"the embedded reference cloud had already stopped (exit code {cloud.process.returncode}), "
                           "before the leak sweep, taking its jobs with it")
        return
    clock = _Clock(deadline)
    assert run.url is not None
    context = CloudContext(run.url, connect_timeout=min(5.0, deadline), read_timeout=min(10.0, deadline),
                           max_response_bytes=max(run.settings.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES),
                           retry=RetryPolicy(attempts=4))
    try:
        with reporting_to(SilentReporter()), calls_end_by(clock.end):
            _sweep(run, context, admin, clock)
    except CloudApiError as exc:
        run.sweep_error = redact(f"the leak sweep could not complete: {exc}")
    except KeyboardInterrupt:
        run.sweep_error = "the leak sweep could not complete: interrupted again while it ran (Ctrl-C)"
    except Exception as exc:  # a harness bug must still end in a verdict, not an INTERNALERROR
        run.sweep_error = redact(f"the leak sweep could not complete: {type(exc).__name__}: {exc}")
    finally:
        context.close()


def _sweep(run: CloudRun, context: CloudContext, admin: User, clock: _Clock) -> None:
    api = context.api
    token = admin.get_token()
    data = api.call_json("GET", "admin_jobs", token, query={"process_id": run.run_id}, retry=True)
    records = data.get("jobs") if isinstance(data, dict) else data
    if not isinstance(records, list):
        run.sweep_error = redact(f"the leak sweep could not complete: the job listing is not a list "
                                 f"({type(records).__name__}: {str(records)[:200]})")
        return
    jobs: list[ListedJob] = []
    unreadable = 0
    for record in records:
        if isinstance(record, dict) and record.get("process_id", run.run_id) != run.run_id:
            continue  # a cloud that ignores the filter: never touch another run's jobs
        job = ListedJob.from_record(record)
        if job is None:
            unreadable += 1
        else:
            jobs.append(job)
    run.swept = len(jobs)
    active = [job for job in jobs if job.status not in NOT_LEAKING_STATUSES]
    run.unknown_statuses = [(j.job_id, j.platform, j.status) for j in jobs if j.status not in protocol.ALL_STATUSES]
    run.leaks = [(j.job_id, j.platform, j.status, run.stats.test_of(j.job_id, UNKNOWN_TEST)) for j in active]
    failed = run.uncancelled = _cancel_all(api, token, [j.job_id for j in active], clock) if active else {}
    _reconcile(run, jobs, {j.job_id for j in active} - set(failed))
    problems = []
    if unreadable:
        problems.append(f"{unreadable} listing record(s) without a job id could not be checked")
    if failed:
        shown = "; ".join(f"{job_id}: {why}" for job_id, why in list(failed.items())[:5])
        problems.append(f"{len(failed)} active job(s) could not be cancelled ({shown})")
    if problems:
        run.sweep_error = redact("the leak sweep could not complete: " + "; ".join(problems))


def _cancel_all(api: Any, token: str, ids: list[str], clock: _Clock) -> dict[str, str]:
    """Cancel ``ids``: one admin cancel-many, then one cancel per job it did not cancel (or all, if it
    failed); returns why each job that is still not cancelled could not be."""
    pending = list(ids)
    try:
        data = api.call_json("POST", "admin_cancel", token, json_body={"job_ids": ids}, retry=True)
        outcomes = data.get("results", data) if isinstance(data, dict) else {}
        outcomes = outcomes if isinstance(outcomes, dict) else {}
        pending = [i for i in ids if str(outcomes.get(i, "")) not in ("canceled", protocol.CANCEL_REQUESTED)
                   and not str(outcomes.get(i, "")).startswith("already_")]
    except CloudApiError:
        pass
    failed: dict[str, str] = {}
    for job_id in pending:
        if clock.left() <= 0:
            failed[job_id] = f"not tried: the sweep's {clock.seconds:g}s were spent"
            continue
        try:
            api.call("POST", "job_cancel", token, path_params={"job_id": job_id}, retry=True)
        except CloudApiError as exc:
            failed[job_id] = exc.reason if exc.kind == "transport" else f"HTTP {exc.status}"
    return failed


def _reconcile(run: CloudRun, jobs: list[ListedJob], cancelled: set[str]) -> None:
    """Make the run's statistics agree with the cloud's listing: jobs no report mentioned (a crashed
    worker's) are counted, and each job's end is the one the cloud lists, or ``canceled`` if the sweep
    or a factory's clean-up cancelled it."""
    for job in jobs:
        trace = run.stats.jobs.get(job.job_id)
        if trace is None:
            trace = run.stats.jobs[job.job_id] = JobTrace(job.platform, 0.0, UNKNOWN_TEST)
        if trace.outcome is not None:
            continue
        if job.status in protocol.TERMINAL_STATUSES:
            trace.outcome = job.status
        elif job.status == protocol.CANCEL_REQUESTED or job.job_id in cancelled:
            trace.outcome = protocol.CANCELED
