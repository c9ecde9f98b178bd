"""The admin steps, ``list_all`` and ``cancel_many``: as an admin through the client, as anyone else raw,
so that the cloud's own refusal (not the client's admin check) is what a scenario tests."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_cloudjob import protocol
from pytest_cloudjob.api.cloud_objects import Job, User
from pytest_cloudjob.scenarios.steps.base import FILTERS, JOBS, Arg, StepKind

if TYPE_CHECKING:
    from pytest_cloudjob.scenarios.model import Step
    from pytest_cloudjob.scenarios.runner import ScenarioRunner


def _list_all(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    filters = runner.filled(step, ["filters"]).get("filters", {})
    if actor.is_admin:
        return [job.to_record() for job in Job.list_all(runner.context, actor, **filters)]
    # A regular user: skip the client's own admin check so the cloud's refusal is what is tested,
    # with the same retries as Job.list_all (a transient 503 is not the refusal being tested).
    return runner.context.api.call_json("GET", "admin_jobs", actor.get_token(), query=filters, retry=True)


def _cancel_many(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    jobs = [job for name in step.args["jobs"] for job in runner.saved_jobs(name)]
    if actor.is_admin:
        return Job.cancel_many(runner.context, jobs, actor)
    return runner.context.api.call_json("POST", "admin_cancel", actor.get_token(),
                                        json_body={"job_ids": [j.job_id for j in jobs]}, retry=True)


KINDS = (
    StepKind("list_all", (Arg("filters", FILTERS, ", ".join(f"`{f}`" for f in protocol.LIST_FILTERS)),),
             "the list of job records", run=_list_all),
    StepKind("cancel_many", (Arg("jobs", JOBS, "saved names", typed_now=True),), "the outcome per id", ("jobs",),
             run=_cancel_many),
)
