"""The leak sweep at the end of a load run: every job tagged with the run id still active is a leak,
cancelled, and fails the run.

The plugin's sweep lists every job of its run; a load run makes thousands (over 100 a second against
the reference cloud), and that listing would pass the client's 4 MiB answer limit within a minute or
two. So this one lists only what can leak: one listing per status that is neither ended nor already
being cancelled, each as small as the leaks it finds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import CloudContext, RetryPolicy, calls_end_by
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.api.records import SilentReporter, reporting_to
from pytest_cloudjob.redaction import redact
from pytest_cloudjob.run.sweep import NOT_LEAKING_STATUSES, SWEEP_DEADLINE, ListedJob

#: The statuses a leaked job can be in, listed one by one.
LEAKING_STATUSES = tuple(sorted(protocol.ALL_STATUSES - NOT_LEAKING_STATUSES))



@dataclass
class SweepResult:
    leaks: list[ListedJob] = field(default_factory=list)
    #: Why the sweep could not complete ("" when it did): the run fails then too.
    error: str = ""


def sweep_run(url: str, admin_token: str, run_id: str, deadline: float = SWEEP_DEADLINE) -> SweepResult:
    """List the run's active jobs as admin, cancel them (cancel-many, then one by one what it left)."""
    result = SweepResult()
    context = CloudContext(url, connect_timeout=5.0, read_timeout=10.0, retry=RetryPolicy(attempts=4))
    try:
        with reporting_to(SilentReporter()), calls_end_by(time.monotonic() + deadline):
            api = context.api
            for status in LEAKING_STATUSES:
                data = api.call_json("GET", "admin_jobs", admin_token, query={"process_id": run_id, "status": status},
                                     retry=True)
                records = data.get("jobs") if isinstance(data, dict) else data
                if not isinstance(records, list):
                    result.error = f"the job listing is not a list ({type(records).__name__})"
                    return result
                for record in records:
                    job = ListedJob.from_record(record)
                    if job is not None and isinstance(record, dict) and record.get("process_id", run_id) == run_id:
                        result.leaks.append(job)
            ids = [job.job_id for job in result.leaks]
            if ids:
                outcomes = api.call_json("POST", "admin_cancel", admin_token, json_body={"job_ids": ids}, retry=True)
                outcomes = outcomes.get("results", outcomes) if isinstance(outcomes, dict) else {}
                for job_id in ids:
                    said = str(outcomes.get(job_id, "")) if isinstance(outcomes, dict) else ""
                    if said not in (protocol.CANCELED, protocol.CANCEL_REQUESTED) and not said.startswith("already_"):
                        api.call("POST", "job_cancel", admin_token, path_params={"job_id": job_id}, retry=True)
    except CloudApiError as exc:
        result.error = redact(f"the leak sweep could not complete: {exc}")
    finally:
        context.close()
    return result
