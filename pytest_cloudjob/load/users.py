"""The scenarios as Locust users: each user runs weighted scenarios one after another through the same
client and :class:`~pytest_cloudjob.scenarios.runner.ScenarioRunner` a pytest run uses, so the same
expectations and state-machine checks hold under load.

Every HTTP call the client makes is a Locust request event named by its protocol call (``create``,
``status``, ``results``...; its type is the platform), read from the client's call records (its
listeners), not by patching the client. Every scenario run is one more event of type ``scenario``: a
broken promise is its failure, with the ``file:line`` text a pytest run shows.
"""
from __future__ import annotations

import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
import requests
from locust import User, constant, task
from locust.env import Environment

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User as CloudUser
from pytest_cloudjob.api.records import CallRecord
from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.load.cloud import RUN_ID_ENV, URL_ENV, tokens
from pytest_cloudjob.load.mix import Choice, build_mix, parse_weights
from pytest_cloudjob.load.tally import Tally
from pytest_cloudjob.redaction import redact
from pytest_cloudjob.run.settings import TOKEN_ENV, configured_user, configured_users
from pytest_cloudjob.scenarios.harness import HarnessError
from pytest_cloudjob.scenarios.runner import ScenarioRunner, ScenarioSetup, StepFailure

#: The Locust name of each endpoint of the client's path table: the protocol call it is.
CALL_NAMES = {"job_create": "create", "job_status": "status", "job_result": "results", "job_read": "read",
              "job_cancel": "cancel", "job_rerun": "rerun", "platform": "platform", "platform_legacy": "platform-legacy",
              "admin_jobs": "list-all", "admin_cancel": "cancel-many", "request": "request"}
#: The request type of the event each scenario run fires (the others' type is their platform).
SCENARIO_TYPE = "scenario"
#: Lines of a failure's text that name it in Locust's failure table (``file:line`` and what was wrong):
#: the rest (the call, the job's history) differs from one failure to the next and would split its row.
FAILURE_NAME_LINES = 2


@dataclass
class LoadRun:
    """One load run in this process: what to run, against what, and what it counted."""

    choices: list[Choice]
    left_out: list[str]
    url: str
    run_id: str
    tokens: dict[str, str] = field(repr=False)
    slow_platform: str
    pcvl_version: str
    timeout: float
    tally: Tally = field(default_factory=Tally)
    started: float = field(default_factory=time.time)

    @classmethod
    def from_options(cls, options: Any) -> LoadRun:
        platforms = options.cloud_platform or [p.strip() for p in
                                               os.environ.get("CLOUDJOB_PLATFORMS", "sim:qa").split(",") if p.strip()]
        weights = parse_weights(options.cloud_weight or [], options.cloud_weights)
        choices, left_out = build_mix(options.cloud_scenarios or ["scenarios"], options.cloud_mark or "",
                                      platforms, weights)
        url = options.cloud_url or os.environ.get(URL_ENV, "")
        return cls(choices, left_out, url, options.cloud_run_id or os.environ.get(RUN_ID_ENV, ""), tokens(),
                   options.cloud_slow_platform, options.cloud_pcvl_version, options.cloud_timeout)

    def user(self, name: str) -> CloudUser | None:
        return configured_user(self.tokens, name)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The longest a failure's row name may be, in characters.
FAILURE_NAME_CHARS = 240


def failure_name(text: str) -> str:
    """The row of Locust's failure table a failure text falls in: its first lines on one line, job ids
    masked (each failure names its own job, which would give every failure a row of its own)."""
    name = " | ".join(line.strip() for line in text.splitlines()[:FAILURE_NAME_LINES])
    name = _UUID.sub("<job id>", name)
    return name if len(name) <= FAILURE_NAME_CHARS else name[:FAILURE_NAME_CHARS - 3] + "..."


class ScenarioUser(User):
    """A simulated user running the run's scenarios, picked by weight, one after another."""

    wait_time = constant(0)
    #: The process's run, set by the ``init`` listener (or on a worker's first user, once the master's
    #: options have arrived).
    load_run: ClassVar[LoadRun | None] = None
    #: The options the run was built from (a worker rebuilds it when the master's differ).
    built_from: ClassVar[dict[str, Any] | None] = None

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.platform = ""
        self.cloud: CloudContext | None = None

    @classmethod
    def current_run(cls, environment: Environment) -> LoadRun:
        options = dict(vars(environment.parsed_options)) if environment.parsed_options else {}
        mine = {k: v for k, v in options.items() if k.startswith("cloud_")}
        if cls.load_run is None or cls.built_from != mine:
            cls.load_run = LoadRun.from_options(environment.parsed_options)
            cls.built_from = mine
        return cls.load_run

    def on_start(self) -> None:
        run = self.current_run(self.environment)
        if not run.url or "user" not in run.tokens:
            raise CloudJobError(f"no target: set {URL_ENV} and {TOKEN_ENV['user']}")
        # One context per user: each simulated user has its own connections, as separate clients would.
        self.cloud = CloudContext(run.url)
        self.cloud.api.listeners.append(self.on_call)

    def on_stop(self) -> None:
        if self.cloud is not None:
            self.cloud.close()

    def on_call(self, record: CallRecord) -> None:
        name = CALL_NAMES.get(record.endpoint, record.endpoint)
        exception = None
        if record.status is None:
            exception = f"{name}: no response" if not record.response_truncated else f"{name}: body too large"
        elif record.status >= 500:
            exception = f"{name}: HTTP {record.status}"
        self.environment.events.request.fire(request_type=self.platform, name=name,
                                             response_time=record.elapsed * 1000, response_length=record.response_size,
                                             exception=exception, context={})
        run = ScenarioUser.load_run
        if run is not None:
            run.tally.on_call(record, self.platform)

    @task
    def run_a_scenario(self) -> None:
        run = self.current_run(self.environment)
        choice = random.choices(run.choices, weights=[c.weight for c in run.choices])[0]
        self.platform = choice.platform
        users = configured_users(run.tokens)
        assert self.cloud is not None
        started = time.perf_counter()
        failure: str | None = None
        try:
            setup = ScenarioSetup(context=self.cloud, users=users, run_id=run.run_id, slow_platform=run.slow_platform,
                                  pcvl_version=run.pcvl_version, timeout=run.timeout)
            ScenarioRunner(choice.scenario, choice.platform, setup).run()
        except StepFailure as exc:
            failure = str(exc)
        except HarnessError as exc:
            failure = f"harness error (the scenario, not the cloud): {exc}"
        except CloudJobError as exc:
            failure = f"{choice.scenario.path}:{choice.scenario.line}: scenario {choice.scenario.name!r}: {exc}"
        except pytest.skip.Exception:
            run.tally.runs["skipped"] += 1
            return
        except (requests.RequestException, ValueError, TypeError, KeyError) as exc:
            failure = (f"{choice.scenario.path}:{choice.scenario.line}: scenario {choice.scenario.name!r}: "
                       f"harness error: {type(exc).__name__}: {exc}")
        elapsed = (time.perf_counter() - started) * 1000
        if failure is not None:
            failure = redact(failure)
            run.tally.keep_failure(failure)
        run.tally.runs["failed" if failure else "passed"] += 1
        self.environment.events.request.fire(request_type=SCENARIO_TYPE, name=choice.name, response_time=elapsed,
                                             response_length=0, exception=failure_name(failure) if failure else None,
                                             context={})
