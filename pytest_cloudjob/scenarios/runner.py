"""Running one scenario on one platform: each step calls the client, checks what came back, and on a
mismatch fails with the step, the request, what was expected, what came, and the job's history.

A mistake of the scenario found only now (an unset ``{env.X}``, a bad matcher argument once filled) is a
:class:`HarnessError`, never a verdict on the cloud. A clean-up that fails is a warning, never the verdict.
"""
from __future__ import annotations

import importlib
import os
import time
import uuid
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest
import requests

from pytest_cloudjob.api import records as reporting
from pytest_cloudjob.api.client import CallRecord, CloudContext
from pytest_cloudjob.api.cloud_objects import Job, Platform, User
from pytest_cloudjob.api.errors import CloudApiError, UnsafeRequestPathError, excerpt
from pytest_cloudjob.durations import DURATION_WORDS, parse_duration
from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.redaction import is_secret_name, redact, register_secret
from pytest_cloudjob.run.budget import AlphaBudget, CheckResult
from pytest_cloudjob.run.job_factory import CleanupWarning, JobFactory
from pytest_cloudjob.run.settings import TOKEN_ENV
from pytest_cloudjob.scenarios import matchers, placeholders
from pytest_cloudjob.scenarios.harness import HarnessError
from pytest_cloudjob.scenarios.matchers import MatcherTypo, check, mentions, short, validate_spec
from pytest_cloudjob.scenarios.model import Scenario, Step
from pytest_cloudjob.scenarios.request import outside_protocol, protocol_paths
from pytest_cloudjob.scenarios.steps import COMMON, Handler
from pytest_cloudjob.scenarios.steps.base import DURATION, EVENTUALLY

MAX_PROBLEM_LINES = 20
MAX_JOB_LINES = 5
DEFAULT_EVENTUALLY_INTERVAL = 0.5
_NOT_SHOWN_IN_TITLE = ("expect", "expect_error", "require", "description", "save", "eventually", "max_time")


class StepFailure(CloudJobError, AssertionError):
    """A step's expectation was not met: the cloud broke a promise."""


@dataclass(frozen=True)
class ScenarioSetup:
    """What a scenario run needs from the pytest run (or a load run): one typed value, not eight positionals."""

    context: CloudContext
    users: Mapping[str, User | None]
    run_id: str
    slow_platform: str
    pcvl_version: str
    #: The default ``wait`` timeout in seconds (``--cloud-timeout``).
    timeout: float
    #: The run's false-alarm budget, where each statistical check records its p-value (``None``: a load run).
    budget: AlphaBudget | None = None
    #: The test's node id, naming its checks in the run's summary.
    test: str = ""


class ScenarioRunner:
    def __init__(self, scenario: Scenario, platform: str, setup: ScenarioSetup) -> None:
        self.scenario = scenario
        self.platform = platform
        self.context = setup.context
        self.users = setup.users
        self.run_id = setup.run_id
        self.slow_platform = setup.slow_platform
        self.timeout = setup.timeout
        self.budget = setup.budget
        self.test = setup.test or f"{scenario.name}[{platform}]"
        self.saved: dict[str, Any] = {}  # a Job, a list of Jobs, or a value saved from an answer
        self.calls: list[CallRecord] = []
        self.durations_of: dict[int, dict[str, float]] = {}  # step index -> its durations in seconds
        self.validated: set[tuple[int, str]] = set()  # (step index, key) of the expectations validated once filled
        default_user = self.users.get("user")
        if default_user is None:
            raise HarnessError(f"{scenario.path}:{scenario.line}: scenario {scenario.name!r} needs the regular user: "
                               f"set {TOKEN_ENV['user']}")
        self.factory = JobFactory(self.context, default_user, self.users.get("admin"), platform_name=platform,
                                  pcvl_version=setup.pcvl_version, process_id=setup.run_id)

    # -- values ------------------------------------------------------------------------------------------
    def render(self, value: Any) -> Any:
        """``value`` with its placeholders filled; a string that is one placeholder keeps the value's type."""
        if isinstance(value, dict):
            return {k: self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = placeholders.whole(value)
        if whole:
            return self._lookup(*placeholders.parse(whole), whole.group(0))
        return placeholders.PLACEHOLDER.sub(lambda m: str(self._lookup(*placeholders.parse(m), m.group(0))), value)

    def _lookup(self, head: str, path: list[str], written: str) -> Any:
        try:
            if head == "platform":
                return self.platform
            if head == "slow_platform":
                return self.slow_platform
            if head == "run_id":
                return self.run_id
            if head == "vars":
                return placeholders.follow(self.render(self.scenario.vars[path[0]]), path[1:], written)
            if head == "env":
                return self._env(path[0])
            saved = self.saved[head]
        except KeyError as exc:
            raise HarnessError(f"{written}: nothing is saved or set under {exc}") from None
        except LookupError as exc:
            raise HarnessError(str(exc)) from None
        if isinstance(saved, Job) or isinstance(saved, list) and saved and isinstance(saved[0], Job):
            ids: Any = [job.job_id for job in saved] if isinstance(saved, list) else saved.job_id
            path = path[:-1] if path and path[-1] == "id" else path
        else:
            ids = saved
        try:
            return placeholders.follow(ids, path, written)
        except LookupError as exc:
            raise HarnessError(str(exc)) from None

    @staticmethod
    def _env(name: str) -> str:
        if name not in os.environ:
            raise HarnessError(f"{{env.{name}}}: the environment variable {name} is not set")
        value = os.environ[name]
        if is_secret_name(name):  # the name says it is a secret: masked in every report
            register_secret(value)
        return value

    def filled(self, step: Step, keys: Collection[str]) -> dict[str, Any]:
        """The step's arguments ``keys`` with their placeholders filled, each checked as the loader checks a
        literal one (one check for both): a value that fills to the wrong type, a ``path`` that would leave
        the cloud's origin, a header with CR/LF, is a harness error before anything is sent."""
        args: dict[str, Any] = self.render({k: v for k, v in step.args.items() if k in keys})
        for key, value in args.items():
            problem = step.spec.arg(key).type.problem(key, value) if key in step.spec.arg_names | COMMON.keys() else None
            if problem:
                raise HarnessError(redact(f"{step.path}:{step.line}: {step.title}: once its placeholders are filled, "
                                          f"{problem}; nothing was sent"))
        return args

    def durations(self, step: Step) -> dict[str, float]:
        """The step's durations in seconds: parsed at load; in a step built in code, where a placeholder may
        stand for one, filled, parsed and checked (never infinite) once, the first time they are needed."""
        if step.index not in self.durations_of:
            self.durations_of[step.index] = step.seconds or self._filled_durations(step)
        return self.durations_of[step.index]

    def _filled_durations(self, step: Step) -> dict[str, float]:
        seconds: dict[str, float] = {}
        for key, value in step.args.items():
            kind = step.spec.arg(key).type if key in step.spec.arg_names | COMMON.keys() else None
            if kind is EVENTUALLY and isinstance(value, dict):
                seconds[key] = self._seconds(step, f"{key}.timeout", value["timeout"])
                seconds[f"{key}.interval"] = self._seconds(step, f"{key}.interval", value.get("interval", 0.5))
            elif kind is EVENTUALLY or kind is DURATION:
                seconds[key] = self._seconds(step, key, value)
        return seconds

    def _seconds(self, step: Step, key: str, value: Any) -> float:
        filled = self.render(value)
        seconds = parse_duration(filled)
        if seconds is None:
            raise HarnessError(redact(f"{step.path}:{step.line}: {step.title}: '{key}' must be {DURATION_WORDS}, "
                                      f"got {short(filled, 60)}"))
        return seconds

    def actor(self, step: Step) -> User:
        name = step.args.get("as", self.scenario.user)
        if name == "anonymous":
            return User(token="", name="anonymous")
        if name == "wrong-token":
            return User(token=f"wrong-{uuid.uuid4().hex}", name="wrong-token")
        user = self.users.get(name)
        if user is None:
            env = TOKEN_ENV.get(name, TOKEN_ENV["user"])
            _skip(f"{step.path}:{step.line}: {step.title} needs the '{name}' user: set {env}")
        return user

    def jobs_of(self, step: Step) -> list[Job]:
        """The jobs of the step's ``job``: the saved one, or each of a saved list."""
        return self.saved_jobs(step.args["job"])

    def saved_jobs(self, name: str) -> list[Job]:
        return _as_list(self.saved[name])

    # -- running -------------------------------------------------------------------------------------------
    def run(self) -> None:
        self.context.api.listeners.append(self.calls.append)
        try:
            for step in self.scenario.steps:
                with reporting.step(self.step_title(step)):
                    try:
                        self.run_step(step)
                    except HarnessError as exc:  # every harness error names its file:line, even a placeholder's
                        if str(exc).startswith(f"{step.path}:"):
                            raise
                        raise HarnessError(redact(f"{step.path}:{step.line}: {step.title}: {exc}")) from None
        finally:
            self.context.api.listeners.remove(self.calls.append)
            histories = [f"{name} ({job.job_id}): {job.history.describe()}" for name, saved in self.saved.items()
                         if isinstance(saved, (Job, list)) for job in _as_list(saved) if isinstance(job, Job)]
            if histories:
                reporting.attach_text("status history of the scenario's jobs", "\n".join(histories))
            self.clean_up()

    def clean_up(self) -> None:
        """Cancel the scenario's jobs still active; a failure is a warning on the test, never its verdict."""
        try:
            with reporting.step("clean-up: cancel the scenario's jobs still active"):
                self.factory.cancel_active()
        except (CloudJobError, requests.RequestException) as exc:
            warnings.warn(CleanupWarning(f"{self.scenario.path}:{self.scenario.line}: clean-up: "
                                         f"{excerpt(redact(exc), 300)} (the end-of-run sweep still looks for them)"),
                          stacklevel=1)

    def step_title(self, step: Step) -> str:
        try:
            shown = self.render({k: v for k, v in step.args.items() if k not in _NOT_SHOWN_IN_TITLE})
        except HarnessError:
            shown = {k: v for k, v in step.args.items() if k not in _NOT_SHOWN_IN_TITLE}
        words = " ".join(f"{k}={short(v, 60)}" for k, v in shown.items())
        verdict = " (expects an error)" if "expect_error" in step.args else ""
        return redact(f"step {step.index}: {step.kind} {words}".rstrip() + verdict)

    def run_step(self, step: Step) -> Any:
        """Run ``step`` (again and again within its ``eventually:`` time), then check its ``max_time:``."""
        durations = self.durations(step)
        limit = durations.get("eventually")
        interval = durations.get("eventually.interval", DEFAULT_EVENTUALLY_INTERVAL)
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            first_call = len(self.calls)
            try:
                actual = self.run_once(step, first_call)
                break
            except StepFailure as failure:
                if limit is None or time.monotonic() - started + interval > limit:
                    if limit is None:
                        raise
                    raise StepFailure(f"{failure}\n  (still failing after {attempts} attempts in "
                                      f"{time.monotonic() - started:.1f}s; eventually: {limit:g}s)") from None
                time.sleep(interval)
        elapsed = time.monotonic() - started
        max_time = durations.get("max_time")
        if max_time is not None and elapsed > max_time:
            self.fail(step, [f"took {elapsed * 1000:.0f} ms; max_time is {max_time * 1000:.0f} ms"], first_call)
        self.save(step, actual, first_call)
        return actual

    def run_once(self, step: Step, first_call: int) -> Any:
        actor = self.actor(step)
        expect_error = step.args.get("expect_error")
        try:
            with reporting.expecting_error(expect_error is not None):
                actual = self.handler(step)(self, step, actor)
        except CloudApiError as exc:
            if not isinstance(expect_error, dict):
                self.fail(step, [f"the call failed: {exc}"], first_call)
            try:
                self.check_error(step, exc, expect_error, first_call)
            except StepFailure:
                self.path_typo(step, exc.status)
                raise
            return None
        except (HarnessError, StepFailure):  # already a verdict with its step's header: never wrapped twice
            raise
        except UnsafeRequestPathError as exc:  # the client's own origin guard: the scenario's mistake, nothing sent
            raise HarnessError(f"{step.path}:{step.line}: {step.title}: {exc}") from None
        except CloudJobError as exc:  # a wait that ended badly, an illegal transition, an unknown status
            self.fail(step, [str(exc)], first_call)
        if expect_error is not None:
            self.fail(step, [f"expected HTTP {expect_error.get('status', 'error')}, but the call succeeded with "
                             f"{short(actual)}"], first_call)
        context = self.distribution_context(step, actor) if step.kind == "results" else None
        if "expect" in step.args:
            problems = self.check(actual, step.args["expect"], step, context, "expect")
            if problems:
                self.path_typo(step, actual.get("status") if isinstance(actual, dict) else None)
                self.fail(step, problems, first_call)
        if "require" in step.args:
            problems = self.check(actual, step.args["require"], step, context, "require")
            if problems:
                _skip(f"not conclusive: {step.title} at line {step.line}: its precondition was not reached: "
                      + "; ".join(problems))
        return actual

    def path_typo(self, step: Step, status: Any) -> None:
        """A ``request`` that failed its check with a 404 on a path outside the protocol: the scenario's typo
        (or an endpoint this cloud lacks), a harness error with the nearest protocol path, never a cloud defect."""
        if step.kind != "request" or status != 404:
            return
        path = str(self.render(step.args["path"]))
        hint = outside_protocol(path, self.context.paths)
        if hint is None:
            return
        method = str(self.render(step.args.get("method", "GET")))
        raise HarnessError(redact(
            f"{step.path}:{step.line}: {step.title}: {method} {path} answered 404, and {path.split('?')[0]} is not a "
            f"path of the protocol{hint}: a typo in the scenario's path (or an endpoint this cloud does not have), "
            f"not a cloud defect; the protocol's paths: {', '.join(protocol_paths(self.context.paths))}"))

    @staticmethod
    def handler(step: Step) -> Handler:
        run = step.spec.run
        if run is None:  # an include is expanded by the loader: no step of that kind reaches the runner
            raise HarnessError(f"{step.path}:{step.line}: {step.title}: a {step.kind} step does not run by itself")
        return run

    def check(self, actual: Any, spec: Any, step: Step, context: Any = None, key: str = "expect") -> list[str]:
        """``check`` of the filled spec; a spec wrong once filled, or a misspelt matcher, is the harness's fault.

        It is validated once per step, the first time it is filled: an ``eventually`` step fills it again on
        every attempt, to the same value (nothing a step saves changes while it repeats)."""
        filled = self.render(spec)
        if (step.index, key) not in self.validated:
            wrong = validate_spec(filled)
            if wrong:
                raise HarnessError(f"{step.path}:{step.line}: {step.title}: the filled expectation is wrong: "
                                   f"{wrong[0][1]}")
            self.validated.add((step.index, key))
        try:
            problems = check(actual, filled, step.kind, context)
            self.record_checks(step, key, context)
            self.attach_charts(context)
        except MatcherTypo as exc:
            raise HarnessError(f"{step.path}:{step.line}: {step.title}: {exc}") from None
        except ImportError as exc:
            raise HarnessError(f"{step.path}:{step.line}: {step.title}: {exc}") from None
        # A check that cannot be made as written (a computed reference for a payload without an experiment)
        # is the scenario's mistake, never a verdict on the cloud.
        mistakes = [p for p in problems if getattr(p, "is_harness_problem", False)]
        if mistakes:
            raise HarnessError(redact(f"{step.path}:{step.line}: {step.title}: {mistakes[0]}"))
        return problems

    def record_checks(self, step: Step, key: str, context: Any) -> None:
        """Hand what each ``distribution`` check of this step found to the run's budget (then forget it: the
        context also serves the step's other key)."""
        records = getattr(context, "records", None)
        if not records:
            return
        if self.budget is not None:
            for ordinal, record in enumerate(records):
                where = f"{step.path}:{step.line} {key}" + (f" #{ordinal + 1}" if len(records) > 1 else "")
                self.budget.record(CheckResult(self.test, where, record.p_value, record.level, record.own_alpha,
                                               record.passed, self.platform, record.figure))
        records.clear()

    @staticmethod
    def attach_charts(context: Any) -> None:
        """Attach each statistical check's chart to the step, then forget it: a ``distribution`` check's expected
        vs observed per outcome (``physics/chart.py``), a ``datasheet`` check's estimate and interval against the
        advertised value (``physics/datasheet_chart.py``). Each is drawn only when the step is written."""
        charts = getattr(context, "charts", None)
        if not charts:
            return
        for data in charts:
            reporting.attach_image(data.attachment, data.png)
        charts.clear()

    def check_error(self, step: Step, exc: CloudApiError, expect_error: dict[str, Any], first_call: int) -> None:
        problems = []
        if "status" in expect_error:
            wanted = expect_error["status"]
            ok = exc.status in wanted if isinstance(wanted, list) else exc.status == wanted
            if not ok:
                problems.append(f"expected HTTP {wanted}, got {exc.status if exc.status else exc.kind + ' error'}")
        if "message" in expect_error:
            message = exc.error_message or exc.body
            spec = expect_error["message"]
            problems += self.check(message, spec if isinstance(spec, dict) else {"contains": spec}, step,
                                   key="expect_error.message")
        if problems:
            self.fail(step, problems, first_call)

    def save(self, step: Step, actual: Any, first_call: int) -> None:
        fields = step.args.get("save")
        if not isinstance(fields, dict):
            return
        for name, path in fields.items():
            try:
                self.saved[name] = placeholders.follow(actual, path.split(".") if path else [], f"save {name}: {path}")
            except LookupError as exc:
                if not placeholders.is_typo(exc):  # the answer lacks a field the scenario expects: judged
                    self.fail(step, [f"cannot save: {exc}"], first_call)
                raise HarnessError(redact(f"{step.path}:{step.line}: {step.title}: cannot save: {exc}: a typo in "
                                          "the scenario's save: path, not a cloud defect")) from None

    def distribution_context(self, step: Step, actor: User) -> Any:
        """What the ``distribution`` matcher needs about the job: its payload and its platform's details."""
        if not any(mentions(step.args.get(key), name) for key in ("expect", "require") for name in matchers.STATISTICAL):
            return None
        try:
            module = importlib.import_module(matchers.PHYSICS_MODULE)
        except ImportError:
            raise HarnessError(f"{step.path}:{step.line}: the distribution matcher needs {matchers.PHYSICS_MODULE}") from None
        job = self.jobs_of(step)[0]
        name = job.platform_name

        def platform_details() -> dict[str, Any]:
            return Platform(name).details(self.context, actor)
        budget = {} if self.budget is None else {"run_level": self.budget.level(), "run_level_note": self.budget.note()}
        # a chart per check, collected only for a report that shows it
        charts: dict[str, list[Any]] = {"charts": []} if reporting.wants_images() else {}
        return module.DistributionContext(payload=job.payload, platform_details=platform_details, **budget, **charts)

    def fail(self, step: Step, problems: list[str], first_call: int) -> NoReturn:
        """Raise the step's failure: ``file:line`` first, what was wrong, the call, the jobs (about 40 lines)."""
        lines = [f"{step.path}:{step.line}: {step.title} failed on {self.platform}"]
        if step.path != self.scenario.path:
            lines.append(f"  (included by scenario {self.scenario.name!r} at {self.scenario.path}:{self.scenario.line})")
        lines += [f"  {excerpt(p, 400)}" for p in problems[:MAX_PROBLEM_LINES]]
        if len(problems) > MAX_PROBLEM_LINES:
            lines.append(f"  ... and {len(problems) - MAX_PROBLEM_LINES} more")
        call = self.calls[-1] if len(self.calls) > first_call else None
        if call is not None:
            lines.append(f"  request: {call.method} {call.url} -> {call.status if call.status else 'no response'}"
                         f" in {call.elapsed * 1000:.0f} ms")
            if call.request_body is not None:
                lines.append(f"  request body: {short(call.request_body, 300)}")
            if call.response_text:
                lines.append(f"  response: {short(call.response_text, 300)}")
        if "job" in step.args and step.args["job"] in self.saved:
            jobs = self.jobs_of(step)
            lines += [f"  job {job.job_id}: {excerpt(job.history.describe(), 300)}" for job in jobs[:MAX_JOB_LINES]]
            if len(jobs) > MAX_JOB_LINES:
                lines.append(f"  ... and {len(jobs) - MAX_JOB_LINES} more jobs")
        raise StepFailure(redact("\n".join(lines)))


def _skip(reason: str) -> NoReturn:
    """Skip, reported at the scenario's own location (as a skip mark is), not at this file's line."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


def _as_list(saved: Any) -> list[Any]:
    """A saved name holds one job, or a list when its create step had a ``count``."""
    return saved if isinstance(saved, list) else [saved]
