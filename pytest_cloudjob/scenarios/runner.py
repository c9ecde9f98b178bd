"""Running one scenario on one platform: each step calls the client, checks what came back, and on a
mismatch fails with the step, the request, what was expected, what came, and the job's history."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from pytest_cloudjob import reporting
from pytest_cloudjob.api.client import CallRecord, CloudContext, decode_json
from pytest_cloudjob.api.cloud_objects import Job, Platform, User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.api.waiting import JobWaitError
from pytest_cloudjob.job_factory import JobFactory
from pytest_cloudjob.redaction import redact
from pytest_cloudjob.scenarios.matchers import check, short
from pytest_cloudjob.scenarios.model import Scenario, Step, parse_duration

_WHOLE = re.compile(r"^\{([A-Za-z_][\w-]*)(?:\.([\w-]+))?\}$")
_ANY = re.compile(r"\{([A-Za-z_][\w-]*)(?:\.([\w-]+))?\}")


class StepFailure(AssertionError):
    """A step's expectation was not met: the cloud broke a promise (or the scenario is wrong)."""


class ScenarioRunner:
    def __init__(self, scenario: Scenario, platform: str, context: CloudContext, users: dict[str, User | None],
                 run_id: str, slow_platform: str, pcvl_version: str, timeout: float) -> None:
        self.scenario = scenario
        self.platform = platform
        self.context = context
        self.users = users
        self.run_id = run_id
        self.slow_platform = slow_platform
        self.timeout = timeout
        self.saved: dict[str, Job | list[Job]] = {}
        self.calls: list[CallRecord] = []
        default_user = users.get("user")
        assert default_user is not None
        self.factory = JobFactory(context, default_user, users.get("admin"), platform_name=platform,
                                  pcvl_version=pcvl_version, process_id=run_id)

    # -- values ------------------------------------------------------------------------------------------
    def render(self, value: Any) -> Any:
        """Fill ``{job.id}``, ``{vars.x}``, ``{platform}``, ``{slow_platform}``, ``{run_id}`` in ``value``."""
        if isinstance(value, dict):
            return {k: self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = _WHOLE.match(value)
        if whole:
            return self._lookup(*whole.groups())
        return _ANY.sub(lambda m: str(self._lookup(*m.groups())), value)

    def _lookup(self, head: str, attr: str | None) -> Any:
        if head == "platform":
            return self.platform
        if head == "slow_platform":
            return self.slow_platform
        if head == "run_id":
            return self.run_id
        if head == "vars":
            return self.render(self.scenario.vars[attr])
        saved = self.saved[head]
        jobs = saved if isinstance(saved, list) else [saved]
        ids = [job.job_id for job in jobs]
        return ids if isinstance(saved, list) else ids[0]

    def actor(self, step: Step) -> User:
        name = step.args.get("as", self.scenario.user)
        if name == "anonymous":
            return User(token="", name="anonymous")
        if name == "wrong-token":
            return User(token=f"wrong-{uuid.uuid4().hex}", name="wrong-token")
        user = self.users.get(name)
        if user is None:
            env = {"other": "CLOUDJOB_OTHER_TOKEN", "admin": "CLOUDJOB_ADMIN_TOKEN"}.get(name, "CLOUDJOB_TOKEN")
            pytest.skip(f"{step.title} needs the '{name}' user: set {env}")
        return user

    def jobs_of(self, step: Step, key: str = "job") -> list[Job]:
        return _as_list(self.saved[step.args[key]])

    # -- running -------------------------------------------------------------------------------------------
    def run(self) -> None:
        self.context.api.listeners.append(self.calls.append)
        try:
            for step in self.scenario.steps:
                with reporting.step(self.step_title(step)):
                    self.run_step(step)
        finally:
            self.context.api.listeners.remove(self.calls.append)
            histories = [f"{name} ({job.job_id}): {job.history.describe()}" for name, saved in self.saved.items()
                         for job in _as_list(saved)]
            if histories:
                reporting.attach_text("status history of the scenario's jobs", "\n".join(histories))
            with reporting.step("clean-up: cancel the scenario's jobs still active"):
                self.factory.cancel_active()

    def step_title(self, step: Step) -> str:
        shown = {k: v for k, v in step.args.items() if k not in ("expect", "expect_error", "require", "description")}
        words = " ".join(f"{k}={short(v, 60)}" for k, v in shown.items())
        verdict = " (expects an error)" if "expect_error" in step.args else ""
        return f"step {step.index}: {step.kind} {words}".rstrip() + verdict

    def run_step(self, step: Step) -> Any:
        first_call = len(self.calls)
        actor = self.actor(step)
        expect_error = step.args.get("expect_error")
        try:
            actual = getattr(self, f"step_{step.kind}")(step, actor)
        except CloudApiError as exc:
            if expect_error is None:
                self.fail(step, [f"the call failed: {exc}"], first_call)
            problems = []
            if "status" in expect_error:
                wanted = expect_error["status"]
                ok = exc.status in wanted if isinstance(wanted, list) else exc.status == wanted
                if not ok:
                    problems.append(f"expected HTTP {wanted}, got {exc.status if exc.status else exc.kind + ' error'}")
            if "message" in expect_error:
                message = exc.error_message or exc.body
                spec = self.render(expect_error["message"])
                problems += check(message, spec if isinstance(spec, dict) else {"contains": spec}, "error message")
            if problems:
                self.fail(step, problems, first_call)
            return None
        except JobWaitError as exc:
            self.fail(step, [str(exc)], first_call)
        if expect_error is not None:
            self.fail(step, [f"expected HTTP {expect_error.get('status', 'error')}, but the call succeeded with "
                             f"{short(actual)}"], first_call)
        if "expect" in step.args:
            problems = check(actual, self.render(step.args["expect"]), step.kind)
            if problems:
                self.fail(step, problems, first_call)
        if "require" in step.args:
            problems = check(actual, self.render(step.args["require"]), step.kind)
            if problems:
                pytest.skip(f"not conclusive: {step.title} at line {step.line}: its precondition was not reached: "
                            + "; ".join(problems))
        return actual

    def fail(self, step: Step, problems: list[str], first_call: int) -> None:
        lines = [f"{self.scenario.path}:{step.line}: {step.title} failed on {self.platform}"]
        lines += [f"  {p}" for p in problems]
        call = self.calls[-1] if len(self.calls) > first_call else None
        if call is not None:
            lines.append(f"  request: {call.method} {call.url} -> {call.status if call.status else 'no response'}"
                         f" in {call.elapsed * 1000:.0f} ms")
            if call.request_body is not None:
                lines.append(f"  request body: {short(call.request_body, 300)}")
            if call.response_text:
                lines.append(f"  response: {short(call.response_text, 300)}")
        if "job" in step.args and step.args["job"] in self.saved:
            for job in self.jobs_of(step):
                lines.append(f"  job {job.job_id}: {job.history.describe()}")
        raise StepFailure(redact("\n".join(lines)))

    # -- the steps -----------------------------------------------------------------------------------------
    def step_create(self, step: Step, actor: User) -> Any:
        args = self.render({k: v for k, v in step.args.items() if k not in ("expect", "expect_error", "require")})
        count = args.get("count", 1)
        jobs: list[Job] = []
        for _ in range(count):
            if "body" in args or "raw_body" in args:
                response = self.context.api.call(
                    "POST", "job_create", actor.get_token(), json_body=args.get("body"),
                    data=args.get("raw_body", "").encode() if "raw_body" in args else None)
                data = decode_json(response, "POST")
                job = self.factory(job_id=str(data.get("job_id", "")) if isinstance(data, dict) else "")
            else:
                fields = {"payload": {**Job.DEFAULT_PAYLOAD, **args.get("payload", {})}}
                for key, field in (("platform", "platform_name"), ("job_name", "job_name"),
                                   ("pcvl_version", "pcvl_version"), ("process_id", "process_id")):
                    if key in args:
                        fields[field] = args[key]
                job = self.factory(**fields)
                job.create(self.context, actor, args.get("extra"))
            jobs.append(job)
        if "save" in args:
            self.saved[args["save"]] = jobs if count > 1 else jobs[0]
        bodies = [{"job_id": job.job_id} for job in jobs]
        return bodies if count > 1 else bodies[0]

    def _each(self, step: Step, call) -> Any:
        results = [call(job) for job in self.jobs_of(step)]
        return results if isinstance(self.saved[step.args["job"]], list) else results[0]

    def step_status(self, step: Step, actor: User) -> Any:
        return self._each(step, lambda job: job.get_status(self.context, actor))

    def step_wait(self, step: Step, actor: User) -> Any:
        until = step.args["until"]
        timeout = parse_duration(step.args["timeout"]) if "timeout" in step.args else self.timeout
        return self._each(step, lambda job: job.wait_until(self.context, actor, until, timeout))

    def step_results(self, step: Step, actor: User) -> Any:
        return self._each(step, lambda job: job.get_results(self.context, actor))

    def step_read(self, step: Step, actor: User) -> Any:
        return self._each(step, lambda job: job.read(self.context, actor))

    def step_cancel(self, step: Step, actor: User) -> Any:
        return self._each(step, lambda job: job.cancel(self.context, actor))

    def step_rerun(self, step: Step, actor: User) -> Any:
        new = [job.rerun(self.context, actor) for job in self.jobs_of(step)]
        self.factory.jobs.extend(new)
        if "save" in step.args:
            self.saved[step.args["save"]] = new if len(new) > 1 else new[0]
        return [{"job_id": j.job_id} for j in new] if len(new) > 1 else {"job_id": new[0].job_id}

    def step_platform(self, step: Step, actor: User) -> Any:
        name = self.render(step.args.get("name", "{platform}"))
        return Platform(name).details(self.context, actor, legacy=bool(step.args.get("legacy", False)))

    def step_list_all(self, step: Step, actor: User) -> Any:
        filters = self.render(step.args.get("filters", {}))
        if actor.is_admin:
            return [_record(job) for job in Job.list_all(self.context, actor, **filters)]
        # A regular user: skip the client's own admin check so the cloud's refusal is what is tested,
        # with the same retries as Job.list_all (a transient 503 is not the refusal being tested).
        return self.context.api.call_json("GET", "admin_jobs", actor.get_token(), query=filters, retry=True)

    def step_cancel_many(self, step: Step, actor: User) -> Any:
        jobs = [job for name in step.args["jobs"] for job in _as_list(self.saved[name])]
        if actor.is_admin:
            return Job.cancel_many(self.context, jobs, actor)
        return self.context.api.call_json("POST", "admin_cancel", actor.get_token(),
                                          json_body={"job_ids": [j.job_id for j in jobs]}, retry=True)


def _as_list(saved: Job | list[Job]) -> list[Job]:
    """A saved name holds one job, or a list when its create step had a ``count``."""
    return saved if isinstance(saved, list) else [saved]


def _record(job: Job) -> dict[str, Any]:
    return {k: v for k, v in vars(job).items() if k != "history"}

