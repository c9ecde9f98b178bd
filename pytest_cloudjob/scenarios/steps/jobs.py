"""The steps on jobs: ``create``, ``status``, ``wait``, ``results``, ``read``, ``cancel``, ``rerun`` and ``platform``.

Each is one :class:`StepKind`: its arguments, its load rules and its behaviour, which calls the client's
:class:`~pytest_cloudjob.api.cloud_objects.Job` and :class:`~pytest_cloudjob.api.cloud_objects.Platform`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_cloudjob.api.client import decode_json
from pytest_cloudjob.api.cloud_objects import Job, Platform, User
from pytest_cloudjob.scenarios.steps.base import (
    ANY,
    BOOLEAN,
    COUNT,
    DURATION,
    JOB_ARG,
    MAPPING,
    SAVE_JOB,
    STATUS_FIELDS,
    STATUSES,
    STRING,
    Arg,
    StepKind,
)

if TYPE_CHECKING:
    from pytest_cloudjob.scenarios.model import Step
    from pytest_cloudjob.scenarios.runner import ScenarioRunner

_EXPECTATIONS = ("expect", "expect_error", "require")


def _create(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    args = runner.filled(step, [k for k in step.args if k not in _EXPECTATIONS])
    count = args.get("count", 1)
    jobs: list[Job] = []
    for _ in range(count):
        if "body" in args or "raw_body" in args:
            response = runner.context.api.call(
                "POST", "job_create", actor.get_token(), json_body=args.get("body"),
                data=args.get("raw_body", "").encode() if "raw_body" in args else None)
            data = decode_json(response, "POST")
            body = args.get("body")
            sent = body.get("payload") if isinstance(body, dict) and isinstance(body.get("payload"), dict) else None
            job = runner.factory(job_id=str(data.get("job_id", "")) if isinstance(data, dict) else "",
                                 **({"payload": sent} if sent is not None else {}))  # the payload it holds is the one sent
        else:
            fields: dict[str, Any] = {"payload": _over_default(args.get("payload", {}))}
            fields.update({a.field: args[a.name] for a in CREATE.args if a.field and a.name in args})
            job = runner.factory(**fields)
            job.create(runner.context, actor, args.get("extra"))
        jobs.append(job)
    if isinstance(args.get("save"), str):
        runner.saved[args["save"]] = jobs if count > 1 else jobs[0]
    bodies = [{"job_id": job.job_id} for job in jobs]
    return bodies if count > 1 else bodies[0]


def _over_default(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` merged over the default one; one that brings its own v0 ``circuit`` or v2 ``computation``
    drops the default ``experiment`` (a Perceval cloud would read that one instead)."""
    default = {key: value for key, value in Job.DEFAULT_PAYLOAD.items()
               if not (key == "experiment" and {"circuit", "computation"} & set(payload))}
    return {**default, **payload}


def _each(runner: ScenarioRunner, step: Step, call: Callable[[Job], Any]) -> Any:
    """``call`` on the step's saved job, or on each job of a saved list (then a list of answers)."""
    results = [call(job) for job in runner.jobs_of(step)]
    return results if isinstance(runner.saved[step.args["job"]], list) else results[0]


def _status(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    return _each(runner, step, lambda job: job.get_status(runner.context, actor))


def _results(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    return _each(runner, step, lambda job: job.get_results(runner.context, actor))


def _read(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    return _each(runner, step, lambda job: job.read(runner.context, actor))


def _cancel(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    return _each(runner, step, lambda job: job.cancel(runner.context, actor))


def _wait(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    timeout = runner.durations(step).get("timeout") or runner.timeout
    return _each(runner, step, lambda job: job.wait_until(runner.context, actor, step.args["until"], timeout))


def _rerun(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    new = [job.rerun(runner.context, actor) for job in runner.jobs_of(step)]
    runner.factory.jobs.extend(new)
    if isinstance(step.args.get("save"), str):
        runner.saved[step.args["save"]] = new if len(new) > 1 else new[0]
    return [{"job_id": j.job_id} for j in new] if len(new) > 1 else {"job_id": new[0].job_id}


def _platform(runner: ScenarioRunner, step: Step, actor: User) -> Any:
    name = runner.filled(step, ["name"]).get("name", runner.platform)
    return Platform(name).details(runner.context, actor, legacy=bool(step.args.get("legacy", False)))


CREATE = StepKind("create", (
    Arg("payload", MAPPING, "merged over the default payload, whose `experiment` goes when it gives a `circuit` "
                            "or a `computation`"),
    Arg("platform", STRING, field="platform_name"), Arg("job_name", STRING, field="job_name"),
    Arg("pcvl_version", STRING, field="pcvl_version"), Arg("process_id", STRING, field="process_id"),
    Arg("extra", MAPPING, "more body fields"),
    Arg("body", ANY, "send exactly this JSON"),
    Arg("raw_body", STRING, "send this text"),
    Arg("count", COUNT, "create this many", typed_now=True),
    Arg("save", SAVE_JOB, "a name for the job, a list with `count`; or fields", typed_now=True),
), "`{job_id}` (a list with `count`)", exclusive=(("body", "raw_body"),), scalar_fields=("job_id",),
    repeatable=False, names_jobs=True, run=_create)

KINDS = (
    CREATE,
    StepKind("status", (JOB_ARG,), "the status body", ("job",), scalar_fields=STATUS_FIELDS,
             run=_status),
    StepKind("wait", (JOB_ARG, Arg("until", STATUSES, "a status or a list", typed_now=True),
                      Arg("timeout", DURATION, "default `--cloud-timeout`", typed_now=True)),
             "the final status body", ("job", "until"), scalar_fields=STATUS_FIELDS, run=_wait),
    StepKind("results", (JOB_ARG,), '`{results: "<JSON text>"}`', ("job",), scalar_fields=("results",),
             run=_results),
    StepKind("read", (JOB_ARG,), "the job record", ("job",),
             run=_read),
    StepKind("cancel", (JOB_ARG,), "the cancel answer", ("job",),
             run=_cancel),
    StepKind("rerun", (JOB_ARG, Arg("save", SAVE_JOB, "a name for the new job, or fields", typed_now=True)),
             "`{job_id}` of the new job", ("job",), scalar_fields=("job_id",), repeatable=False, names_jobs=True,
             run=_rerun),
    StepKind("platform", (Arg("name", STRING, "default `{platform}`"), Arg("legacy", BOOLEAN, "the older path")),
             "the platform details", run=_platform),
)
