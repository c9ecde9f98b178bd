"""The scenario language's own promises: mistakes caught at load time with file:line, harness mistakes never
filed as cloud defects, one read per failure, no wasted calls in clean-up, and the documented examples run."""
from __future__ import annotations

import re
import shutil
import textwrap
import warnings
from pathlib import Path

import pytest

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.durations import parse_duration
from pytest_cloudjob.run.job_factory import CleanupWarning
from pytest_cloudjob.scenarios import matchers, steps
from pytest_cloudjob.scenarios.harness import HarnessError
from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.model import parse_scenario
from pytest_cloudjob.scenarios.runner import ScenarioRunner, ScenarioSetup, StepFailure
from pytest_cloudjob.server.process import start_reference_cloud

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
DOCS = ROOT / "docs" / "scenarios.md"


def load(tmp_path: Path, text: str, name: str = "x.scenario.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return [parse_scenario(doc, path, i) for i, doc in enumerate(load_documents(path))]


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioFormatError) as info:
        load(tmp_path, text)
    return str(info.value)


# -- one table ------------------------------------------------------------------------------------------------
def _generated_section(marker: str) -> str:
    text = DOCS.read_text()
    found = re.search(rf"<!-- {marker}: begin.*?-->\n(.*?)<!-- {marker}: end -->", text, re.S)
    assert found, f"docs/scenarios.md has no generated {marker} section"
    return found.group(1)


def test_the_docs_step_table_is_the_one_the_step_table_generates():
    assert _generated_section("steps table") == steps.docs_table(), (
        "docs/scenarios.md's step table is stale: paste `python -m pytest_cloudjob.scenarios.steps`")


def test_the_docs_matcher_table_is_the_one_the_matcher_table_generates():
    assert _generated_section("matchers table") == matchers.docs_table()


def test_count_is_bounded_once_for_loader_and_schema(tmp_path):
    from pytest_cloudjob.scenarios.schema import scenario_schema

    count = scenario_schema()["$defs"]["step_create"]["properties"]["create"]["properties"]["count"]
    assert count["maximum"] == steps.MAX_COUNT
    message = load_error(tmp_path, f"""
        name: x
        steps:
          - create: {{count: {steps.MAX_COUNT + 1}}}
        """)
    assert f"'count' must be between 1 and {steps.MAX_COUNT}" in message


@pytest.mark.parametrize("text,expected", [
    ("30s", 30.0), ("500ms", 0.5), ("2m", 120.0), (3, 3.0), ("1.5 min", 90.0), ("0s", None), ("soon", None), (True, None),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


# -- load-time mistakes ---------------------------------------------------------------------------------------
MISTAKES = {
    "a misspelt matcher where the value is a status": ("""
        name: x
        steps:
          - create: {save: job}
          - status:
              job: job
              expect:
                status: {one_off: [waiting, running]}
        """, ":7:", "unknown matcher 'one_off' (did you mean 'one_of'?)"),
    "a tolerance that is not a number": ("""
        name: x
        steps:
          - platform:
              expect: {x: {approx: 1, tolerance: "x"}}
        """, ":4:", "'tolerance' must be a number >= 0, got str 'x'"),
    "a tolerance written as text": ("""
        name: x
        steps:
          - platform:
              expect: {x: {approx: 1, tolerance: "1e-6"}}
        """, ":4:", "for a number write 1.0e-6, unquoted"),
    "a tolerance without approx": ("""
        name: x
        steps:
          - platform:
              expect: {x: {tolerance: 0.1}}
        """, ":4:", "'tolerance' goes with 'approx'"),
    "a bound that is not a number": ("""
        name: x
        steps:
          - platform: {expect: {x: {min: "zero"}}}
        """, ":3:", "'min' must be a number, got str 'zero'"),
    "an env placeholder without a name": ("""
        name: x
        steps:
          - platform: {name: "{env}"}
        """, ":3:", "write '{env.NAME}'"),
    "an index into a single job": ("""
        name: x
        steps:
          - create: {save: job}
          - request: {path: "/api/job/status/{job.0.id}"}
        """, ":4:", "a saved job has only '.id'"),
    "eventually on a step that makes jobs": ("""
        name: x
        steps:
          - create: {eventually: 5s}
        """, ":3:", "not safe to repeat"),
    "a request with an unknown method": ("""
        name: x
        steps:
          - request: {method: FETCH, path: /health}
        """, ":3:", "'method' must be one of GET"),
    "a request path without its slash": ("""
        name: x
        steps:
          - request: {path: health}
        """, ":3:", "'path' must be a path starting with /"),
    "a max_time that is not a duration": ("""
        name: x
        steps:
          - platform: {max_time: fast}
        """, ":3:", "'max_time' must be a duration such as 30s"),
    "a save of an error": ("""
        name: x
        steps:
          - platform: {save: {a: name}, expect_error: {status: 404}}
        """, ":3:", "cannot save anything"),
    "parametrize rows with one id": ("""
        name: x
        parametrize: [{n: 1}, {n: 1}]
        steps:
          - platform: {}
        """, ":2:", "have the same id 'n=1'"),
    "a variable no row gives": ("""
        name: x
        parametrize: [{shots: 1}]
        steps:
          - platform: {name: "{vars.shot}"}
        """, ":4:", "'{vars.shot}' names no variable (did you mean 'shots'?)"),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_mistake_is_a_load_time_error_with_file_and_line(tmp_path, name):
    text, line, fragment = MISTAKES[name]
    message = load_error(tmp_path, text)
    assert f"x.scenario.yaml{line}" in message and fragment in message, message


def test_field_checks_are_never_taken_for_misspelt_matchers(tmp_path):
    # Fields named close to a matcher (mins, types) are checked as fields where the value may be an object.
    scenario, = load(tmp_path, """
        name: x
        steps:
          - platform:
              expect: {specs: {mins: 3, types: [a]}, type: {fields: {type: qpu}}}
        """)
    assert scenario.steps[0].args["expect"]["specs"] == {"mins": 3, "types": ["a"]}


def test_sum_takes_an_approximate_form_for_probabilities():
    probabilities = {f"|{i}>": 0.1 for i in range(10)}
    assert sum(probabilities.values()) != 1
    assert matchers.check(probabilities, {"sum": {"approx": 1, "tolerance": 1e-9}}, "p") == []
    assert matchers.check({"a": 0.5}, {"sum": {"approx": 1, "tolerance": 1e-9}}, "p")


def test_includes_are_inlined_with_their_own_file_and_line_and_cycles_refused(tmp_path):
    (tmp_path / "shared.steps.yaml").write_text("- create: {save: job}\n- wait: {job: jbo, until: completed}\n")
    with pytest.raises(ScenarioFormatError) as info:
        load(tmp_path, "name: x\nsteps:\n  - include: shared.steps.yaml\n")
    assert "shared.steps.yaml:2:" in str(info.value) and "(did you mean 'job'?)" in str(info.value)
    (tmp_path / "loop.steps.yaml").write_text("- include: loop.steps.yaml\n")
    with pytest.raises(ScenarioFormatError, match="includes itself"):
        load(tmp_path, "name: x\nsteps:\n  - include: loop.steps.yaml\n")


def test_the_distribution_matcher_without_the_physics_module_is_a_load_time_error(tmp_path, monkeypatch):
    monkeypatch.setattr(matchers, "PHYSICS_MODULE", "pytest_cloudjob.no_such_physics")
    message = load_error(tmp_path, """
        name: x
        steps:
          - create: {save: job}
          - results: {job: job, expect: {results: {distribution: {reference: ideal}}}}
        """)
    assert ":4:" in message and "needs the physics module" in message


def test_the_distribution_matcher_delegates_to_the_physics_module(tmp_path, monkeypatch, cloud):
    fake = tmp_path / "fake_physics.py"
    fake.write_text(textwrap.dedent("""
        from dataclasses import dataclass
        from typing import Any, Callable
        seen = []

        @dataclass
        class DistributionContext:
            payload: dict
            platform_details: Callable[[], dict]

        def validate_distribution_spec(spec):
            return [] if spec.get("reference") in ("ideal", "noisy") else ["unknown reference"]

        def check_distribution(actual, spec, where, context):
            seen.append((actual, dict(spec), context.payload["command"], context.platform_details()["name"]))
            return [] if spec["reference"] == "ideal" else [f"{where}: not drawn from {spec['reference']}"]
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(matchers, "PHYSICS_MODULE", "fake_physics")
    assert "unknown reference" in load_error(tmp_path, """
        name: x
        steps:
          - create: {save: job}
          - results: {job: job, expect: {results: {distribution: {reference: perfect}}}}
        """)
    return_scenario = load(tmp_path, """
        name: x
        steps:
          - create: {save: job, payload: {command: sample_count}}
          - wait: {job: job, until: completed}
          - results: {job: job, expect: {results: {distribution: {reference: ideal, alpha: 0.000001}}}}
        """)[0]
    import fake_physics  # type: ignore[import-not-found]  # written to tmp_path above

    _run(return_scenario, cloud)
    (actual, spec, command, platform), = fake_physics.seen
    assert actual.startswith("{") and spec["reference"] == "ideal" and command == "sample_count" and platform == "sim:qa"


# -- run time: one read per failure, harness errors apart, clean-up calls ---------------------------------------
@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    running = start_reference_cloud(tmp_path_factory.mktemp("cloud") / "cloud.log")
    yield running
    assert running.stop() == 0


def _run(scenario, cloud, admin_token=None):
    context = CloudContext(cloud.url)
    users = {"user": User(cloud.tokens["user"], name="user"), "other": None,
             "admin": User(admin_token or cloud.tokens["admin"], is_admin=True, name="admin")}
    setup = ScenarioSetup(context=context, users=users, run_id="run-test-language", slow_platform="sim:slow", pcvl_version="0.13",
                          timeout=30.0)
    runner = ScenarioRunner(scenario, "sim:qa", setup)
    try:
        runner.run()
    finally:
        context.close()
    return runner


def test_create_wait_results_costs_no_clean_up_call(tmp_path, cloud):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - create: {save: job}
          - wait: {job: job, until: completed, timeout: 30s}
          - results: {job: job}
        """)
    runner = _run(scenario, cloud)
    endpoints = [call.endpoint for call in runner.calls]
    polls = endpoints.count("job_status")
    assert endpoints == ["job_create", *["job_status"] * polls, "job_result"], endpoints
    assert polls == len(runner.saved["job"].history.observations)


def test_a_failure_reads_in_one_go_and_a_failed_clean_up_is_one_warning(tmp_path, cloud):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - create: {platform: "{slow_platform}", count: 12, save: jobs}
          - status: {job: jobs, expect: {every: {status: completed}}}
        """)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(StepFailure) as info:
            _run(scenario, cloud, admin_token="not-the-admin-token")
    text = str(info.value)
    assert text.startswith(f"{tmp_path / 'x.scenario.yaml'}:4: step 2 (status) failed on sim:qa"), text
    assert len(text.splitlines()) <= 40 and "Traceback" not in text and info.value.__suppress_context__ is False
    cleanup = [w for w in caught if issubclass(w.category, CleanupWarning)]
    assert len(cleanup) == 1 and "clean-up" in str(cleanup[0].message) and "HTTP 401" in str(cleanup[0].message)
    # leave nothing running: the real clean-up, as the sweep would do it
    _run(load(tmp_path, "name: y\nsteps:\n  - platform: {}\n")[0], cloud)


def test_a_misspelt_matcher_found_at_run_time_is_a_harness_error(tmp_path, cloud):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - request: {path: /health, expect: {body: {status: {one_off: [ok]}}}}
        """)
    with pytest.raises(HarnessError, match=r"x.scenario.yaml:3: .*unknown matcher 'one_off' \(did you mean 'one_of'"):
        _run(scenario, cloud)


def test_an_eventually_step_validates_its_filled_expectation_once_not_on_every_attempt(tmp_path, cloud, monkeypatch):
    from pytest_cloudjob.scenarios import runner as runner_module
    validated = []
    real = matchers.validate_spec  # the function the runner imported

    def spy(spec, *a):
        validated.append(spec)
        return real(spec, *a)
    monkeypatch.setattr(runner_module, "validate_spec", spy)
    scenario, = load(tmp_path, """
        name: x
        vars: {code: 299}
        steps:
          - request: {path: /health, expect: {status: "{vars.code}"}, eventually: {timeout: 5s, interval: 50ms}}
        """)
    with pytest.raises(StepFailure, match=r"still failing after (\d+) attempts") as info:
        _run(scenario, cloud)
    match = re.search(r"after (\d+) attempts", str(info.value))
    assert match, info.value
    attempts = int(match.group(1))
    assert attempts > 1 and validated == [{"status": 299}]


def test_a_path_the_client_refuses_at_run_time_is_a_harness_error_naming_the_step(tmp_path, cloud, monkeypatch):
    # Past the scenario's own check (as a path the client's URL check alone refuses would be), the client's
    # origin guard still refuses it before anything is sent: that is the scenario's mistake, never the cloud's.
    monkeypatch.setattr(ScenarioRunner, "filled", lambda self, step, keys: self.render(
        {k: v for k, v in step.args.items() if k in keys}))
    scenario, = load(tmp_path, """
        name: x
        vars: {target: "//127.0.0.1:9/stolen"}
        steps:
          - request: {path: "{vars.target}", expect: {status: 200}}
        """)
    with pytest.raises(HarnessError, match=r"^\S*x\.scenario\.yaml:4: step 1 \(request\): GET '//127\.0\.0\.1:9/stolen' "
                                           r"refused, not sent: it starts with '//'"):
        _run(scenario, cloud)


def test_an_unset_env_variable_is_a_harness_error_and_secrets_are_masked(tmp_path, cloud, monkeypatch):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - request: {path: "/health", query: {x: "{env.QA_UNSET_VARIABLE}"}}
        """)
    monkeypatch.delenv("QA_UNSET_VARIABLE", raising=False)
    with pytest.raises(HarnessError, match="QA_UNSET_VARIABLE is not set"):
        _run(scenario, cloud)
    monkeypatch.setenv("QA_API_TOKEN", "s3cr3t-value-123")
    scenario, = load(tmp_path, """
        name: x
        steps:
          - request: {path: "/api/job/status/{env.QA_API_TOKEN}", expect: {status: 200}}
        """)  # a path of the protocol: its 404 is the cloud's answer to judge (elsewhere, a harness error)
    with pytest.raises(StepFailure) as info:
        _run(scenario, cloud)
    assert "s3cr3t-value-123" not in str(info.value) and "/api/job/status/***" in str(info.value)


TIME_BOUNDS = {
    "max_time fails a slow step": ("""
        - create: {save: job}
        - wait: {job: job, until: completed, max_time: 1ms}
        """, r"max_time is 1 ms"),
    "eventually reports its attempts": ("""
        - platform: {eventually: {timeout: 600ms, interval: 100ms}, expect: {name: never}}
        """, r"still failing after \d+ attempts in 0\.\ds; eventually: 0\.6s"),
}


@pytest.mark.parametrize("name", sorted(TIME_BOUNDS))
def test_time_bounded_steps_fail_with_their_measure(tmp_path, cloud, name):
    steps_text, expected = TIME_BOUNDS[name]
    scenario, = load(tmp_path, "name: x\nsteps:\n" + textwrap.indent(textwrap.dedent(steps_text).strip(), "  ") + "\n")
    with pytest.raises(StepFailure, match=expected):
        _run(scenario, cloud)


def test_step_titles_show_the_filled_placeholders(tmp_path, cloud):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - create: {save: job}
          - request: {path: "/api/job/status/{job.id}"}
        """)
    runner = _run(scenario, cloud)
    title = runner.step_title(scenario.steps[1])
    assert runner.saved["job"].job_id in title and "{job.id}" not in title


# -- real sessions -----------------------------------------------------------------------------------------------
def test_the_documented_examples_run_green(pytester, monkeypatch):
    for path in EXAMPLES.glob("*.yaml"):  # the scenario examples (the .py ones are run by tests/test_docs.py)
        shutil.copy(path, pytester.path / path.name)
    monkeypatch.setenv("QA_JOB_NAME", "qa_from_the_environment")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(["*no more samples than the shots asked[[]many[]][[]sim:qa[]]*", "*0 leaked*"])


def test_every_documented_feature_has_an_example_shown_in_the_docs():
    text = DOCS.read_text()
    for path in sorted(EXAMPLES.glob("*.yaml")):
        shown = re.search(rf"<!-- example: docs/examples/{re.escape(path.name)} -->\n```yaml\n(.*?)```", text, re.S)
        assert shown, f"docs/scenarios.md does not show {path.name}"
        assert shown.group(1) == path.read_text(), f"docs/scenarios.md shows a stale copy of {path.name}"


def test_unknown_platforms_and_undeclared_marks_are_collection_problems(pytester):
    pytester.makefile(".scenario.yaml", typo="name: x\nplatforms: [qpu:qaa]\nsteps:\n  - platform: {}\n")
    result = pytester.runpytest_inprocess("--collect-only")
    result.stdout.fnmatch_lines(["*typo.scenario.yaml:2: scenario 'x': unknown platform 'qpu:qaa' "
                                 "(did you mean 'qpu:qa'?)*"])
    (pytester.path / "typo.scenario.yaml").unlink()
    pytester.makefile(".scenario.yaml", marked="name: x\nmarks: [smokee]\nsteps:\n  - platform: {}\n")
    result = pytester.runpytest_inprocess("--collect-only", "-W", "always")
    result.stdout.fnmatch_lines(["*PytestUnknownMarkWarning*marked.scenario.yaml:2*mark 'smokee' is not registered*"])
    result = pytester.runpytest_inprocess("--collect-only", "--strict-markers")
    result.stdout.fnmatch_lines(["*marked.scenario.yaml:2: scenario 'x': mark 'smokee' is not registered*"])
    assert result.ret != pytest.ExitCode.OK
    pytester.makeini("[pytest]\nmarkers =\n    smokee: a declared mark\n")
    result = pytester.runpytest_inprocess("--collect-only", "--strict-markers", "-m", "smokee")
    result.stdout.fnmatch_lines(["*1 test collected*"])


def test_a_yaml_file_that_looks_like_a_scenario_but_is_not_collected_is_named(tmp_path):
    from pytest_cloudjob.scenarios.collect import DEFAULT_PATTERNS, looks_like_unmatched_scenario

    patterns = list(DEFAULT_PATTERNS)
    (tmp_path / "login.yaml").write_text("name: x\nsteps:\n  - platform: {}\n")
    (tmp_path / "config.yaml").write_text("retries: 3\n")
    (tmp_path / "ok.scenario.yaml").write_text("name: x\nsteps:\n  - platform: {}\n")
    warning = looks_like_unmatched_scenario(tmp_path / "login.yaml", patterns)
    assert warning and "login.yaml" in warning and "*.scenario.yaml" in warning
    assert looks_like_unmatched_scenario(tmp_path / "config.yaml", patterns) is None
    assert looks_like_unmatched_scenario(tmp_path / "ok.scenario.yaml", patterns) is None


def test_in_a_session_a_harness_error_and_a_cloud_failure_each_read_in_one_go(pytester):
    pytester.makefile(".scenario.yaml", mixed="""
name: needs a variable
steps:
  - platform: {name: "{env.QA_NEVER_SET_ANYWHERE}"}
---
name: the cloud is asked the impossible
steps:
  - create: {platform: "{slow_platform}", count: 30, save: jobs}
  - status: {job: jobs, expect: {every: {status: completed, progress: {min: 2}}}}
""")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert "harness error (the scenario, not the cloud)" in output and "QA_NEVER_SET_ANYWHERE is not set" in output
    failure = output.split("the cloud is asked the impossible [sim:qa] _")[1].split("\n-----")[0]
    lines = failure.strip("_ \n").splitlines()
    assert lines[0].endswith("mixed.scenario.yaml:8: step 2 (status) failed on sim:qa"), lines[0]
    assert len(lines) <= 40 and "Traceback" not in output and "During handling" not in output, failure
    result.stdout.fnmatch_lines(["*0 leaked*"])


def test_a_rerun_of_a_list_saves_a_list(tmp_path):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - create: {count: 2, save: jobs}
          - cancel: {job: jobs}
          - rerun: {job: jobs, save: again}
          - request: {path: "/api/job/status/{again.1.id}"}
        """)
    assert scenario.steps[-1].args["path"] == "/api/job/status/{again.1.id}"


def test_the_shipped_suite_collects_clean_under_strict_markers(pytester):
    for path in (ROOT / "scenarios").glob("*.scenario.yaml"):
        shutil.copy(path, pytester.path / path.name)
    result = pytester.runpytest_inprocess("--collect-only", "-q", "--strict-markers",
                                           "-W", "error::pytest.PytestUnknownMarkWarning")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()


def test_a_filled_matcher_argument_of_the_wrong_type_is_a_harness_error(tmp_path, cloud):
    scenario, = load(tmp_path, """
        name: x
        vars: {least: many}
        steps:
          - platform: {expect: {name: {min: "{vars.least}"}}}
        """)
    with pytest.raises(HarnessError, match=r"x.scenario.yaml:4: .*'min' must be a number, got str 'many'"):
        _run(scenario, cloud)


def test_a_request_can_expect_a_refusal(tmp_path, cloud):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - request: {path: /api/job/status/no-such-job, expect_error: {status: [400, 404]}}
          - request: {path: /api/admin/jobs, as: anonymous, expect: {status: 401, headers: {content-type: {contains: json}}}}
        """)
    runner = _run(scenario, cloud)
    assert [call.status for call in runner.calls] in ([400, 401], [404, 401])
