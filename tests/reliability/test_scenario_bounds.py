"""Issue 19, R4 and R6 (scenario side): load-time bounds and run-time type checks, each a ``file:line`` error.

- ``include:`` fan-out is bounded (``MAX_STEPS`` expanded steps, checked as they grow) and each steps file
  is read once, so a 7-file fan-out of 10^7 steps is refused in well under the 90 s it ran before;
- durations are finite, positive and at most 24 h in every duration field; numbers must fit a float;
- an ``include:`` of a file that is not a steps file (``/etc/passwd``, a ``.env``) never quotes it;
- ``request`` arguments that fill to the wrong type (or a header to CR/LF) are harness errors, nothing sent;
- the ``distribution`` check says ``distribution:`` once, and a check that cannot be made as written is the
  scenario's mistake (a harness error), never a cloud defect.
"""
from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support import hang_guard

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.durations import MAX_DURATION_SECONDS, parse_duration
from pytest_cloudjob.scenarios import model
from pytest_cloudjob.scenarios.harness import HarnessError
from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.model import MAX_STEPS, Scenario, Step, parse_scenario
from pytest_cloudjob.scenarios.runner import ScenarioRunner, ScenarioSetup
from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud


def load(folder: Path, text: str, name: str = "x.scenario.yaml") -> list[Scenario]:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    included: dict[Path, list[object]] = {}
    return [parse_scenario(doc, path, i, included) for i, doc in enumerate(load_documents(path))]


def load_error(folder: Path, text: str) -> str:
    with pytest.raises(ScenarioFormatError) as info:
        load(folder, text)
    return str(info.value)


def fan_out(folder: Path, files: int = 7, width: int = 10) -> None:
    """``f1`` includes ``f2`` ``width`` times, ... the last holds ``width`` steps: width**files steps."""
    for n in range(1, files):
        (folder / f"f{n}.steps.yaml").write_text(f"- include: f{n + 1}.steps.yaml\n" * width)
    (folder / f"f{files}.steps.yaml").write_text("- platform: {}\n" * width)


# -- R4 (a): include fan-out ------------------------------------------------------------------------------------
def test_an_include_fan_out_is_refused_with_its_line_and_each_file_is_read_once(tmp_path, monkeypatch):
    fan_out(tmp_path)
    reads: list[Path] = []
    real = load_documents  # the function the model imported

    def counting(path: Path, **kwargs: object) -> list[object]:
        reads.append(path)
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "load_documents", counting)
    with hang_guard(30):
        message = load_error(tmp_path, """
            name: fan-out
            steps:
              - platform: {}
              - include: f1.steps.yaml
            """)
    assert message.startswith(f"{tmp_path / 'x.scenario.yaml'}:4: scenario 'fan-out': more than {MAX_STEPS:,} steps"), message
    assert f"step {MAX_STEPS + 1:,} comes from {tmp_path}/f" in message, message
    assert len(reads) == len(set(reads)) <= 7, reads


def test_a_scenario_of_exactly_the_limit_loads(tmp_path):
    fan_out(tmp_path, files=2, width=100)
    scenario, = load(tmp_path, "name: x\nsteps:\n  - include: f1.steps.yaml\n")
    assert len(scenario.steps) == MAX_STEPS == 100 * 100
    (tmp_path / "one_more.steps.yaml").write_text("- platform: {}\n")
    message = load_error(tmp_path, "name: x\nsteps:\n  - include: f1.steps.yaml\n  - include: one_more.steps.yaml\n")
    assert ":4: scenario 'x': more than 10,000 steps" in message, message


def test_documents_of_one_file_share_the_steps_files_read(tmp_path, monkeypatch):
    (tmp_path / "shared.steps.yaml").write_text("- platform: {}\n")
    reads: list[Path] = []
    real = load_documents  # the function the model imported

    def spy(path, **kw):
        reads.append(path)
        return real(path, **kw)
    monkeypatch.setattr(model, "load_documents", spy)
    scenarios = load(tmp_path, "\n---\n".join(f"name: s{i}\nsteps:\n  - include: shared.steps.yaml" for i in range(20)))
    assert len(scenarios) == 20 and len(reads) == 1


def test_a_fan_out_is_a_collection_error_in_a_session(pytester):
    fan_out(pytester.path)
    pytester.makefile(".scenario.yaml", fan="name: fan-out\nsteps:\n  - include: f1.steps.yaml\n")
    result = pytester.runpytest_subprocess("--collect-only", "-p", "no:cacheprovider", timeout=120)
    result.stdout.fnmatch_lines(["*fan.scenario.yaml:3: scenario 'fan-out': more than 10,000 steps*"])
    assert result.ret != pytest.ExitCode.OK


# -- R4 (b): durations and numbers ------------------------------------------------------------------------------
FIELDS = {
    "wait timeout": ("- create: {{save: job}}\n- wait: {{job: job, until: completed, timeout: {v}}}", 4),
    "eventually": ("- platform: {{eventually: {v}}}", 3),
    "eventually timeout": ("- platform: {{eventually: {{timeout: {v}}}}}", 3),
    "eventually interval": ("- platform: {{eventually: {{timeout: 5s, interval: {v}}}}}", 3),
    "max_time": ("- platform: {{max_time: {v}}}", 3),
}
VALUES = [".inf", "-.inf", ".nan", "-1", "0", "86401", "1441m", "86400001ms", "9" * 400, '"' + "9" * 400 + 's"']


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_duration_field_refuses_infinite_negative_and_absurd_values(tmp_path, field, value):
    steps, line = FIELDS[field]
    text = "name: x\nsteps:\n" + textwrap.indent(steps.format(v=value), "  ") + "\n"
    message = load_error(tmp_path, text)
    assert f"x.scenario.yaml:{line}:" in message, message
    assert "must be" in message or "too large for a float" in message, message


def test_the_longest_duration_is_24_hours():
    assert parse_duration(MAX_DURATION_SECONDS) == parse_duration("1440m") == 86400.0
    assert parse_duration(86400.5) is None and parse_duration(10 ** 400) is None and parse_duration(float("nan")) is None


def test_an_integer_that_does_not_fit_a_float_is_refused_wherever_it_is(tmp_path):
    message = load_error(tmp_path, f"""
        name: x
        steps:
          - create: {{payload: {{max_shots: {"9" * 400}}}}}
        """)
    assert "x.scenario.yaml:3: the integer of 400 digits is too large for a float" in message, message
    scenario, = load(tmp_path, "name: x\nsteps:\n  - create: {payload: {max_shots: 100000000000000000000}}\n")
    assert scenario.steps[0].args["payload"]["max_shots"] == 10 ** 20


# -- R4 (c): an include of a file that is not a steps file ------------------------------------------------------
SECRET = "QA_TOKEN=tok-3f9a7c1e5b2d8a6f"


@pytest.mark.parametrize("content", [SECRET + "\n", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n",
                                     "12345678901234567890\n", "API_KEY: tok-3f9a7c1e5b2d8a6f\n"])
def test_an_included_file_that_is_not_a_steps_file_is_never_quoted(tmp_path, content):
    (tmp_path / ".env").write_text(content)
    message = load_error(tmp_path, "name: x\nsteps:\n  - include: .env\n")
    assert f"{tmp_path / '.env'}:1: a steps file holds one YAML list of steps" in message, message
    assert "x.scenario.yaml:3" in message and "'name' and 'steps'" not in message, message
    shown = message.replace(str(tmp_path), "")
    for word in content.replace(":", " ").replace("=", " ").split():
        if len(word) > 3:
            assert word not in shown, message


# -- R6: arguments filled at run time are checked as at load time -----------------------------------------------
@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = start_reference_cloud(tmp_path_factory.mktemp("cloud") / "cloud.log")
    yield running
    assert running.stop() == 0


def run(scenario: Scenario, cloud: RunningCloud, runners: list[ScenarioRunner] | None = None) -> None:
    """Run ``scenario``; its runner (and so the calls it made) is appended to ``runners``."""
    context = CloudContext(cloud.url)
    users = {"user": User(cloud.tokens["user"], name="user"), "other": None, "admin": None}
    setup = ScenarioSetup(context=context, users=users, run_id="run-bounds", slow_platform="sim:slow", pcvl_version="0.13",
                          timeout=30.0)
    runner = ScenarioRunner(scenario, "sim:qa", setup)
    if runners is not None:
        runners.append(runner)
    try:
        runner.run()
    finally:
        context.close()


FILLED = {
    "path a list": ("[/health, /x]", "path: '{vars.v}'", "'path' must be a path starting with /, got list"),
    "path an int": ("5", "path: '{vars.v}'", "'path' must be a path starting with /, got int"),
    "a method with spaces": ('"GET /x HTTP/1.1"', "method: '{vars.v}', path: /health", "'method' must be one of GET"),
    "headers not a mapping": ("x", "path: /health, headers: '{vars.v}'", "'headers' must be a mapping of header"),
    "query not a mapping": ("[1, 2]", "path: /health, query: '{vars.v}'", "'query' must be a mapping of names"),
    "raw_body an int": ("5", "method: POST, path: /api/job, raw_body: '{vars.v}'", "'raw_body' must be a string, got int"),
    "a header value with CR LF": ('"a\\r\\nX-Injected: 1"', "path: /health, headers: {X-Test: '{vars.v}'}",
                                  "'headers' must be a mapping of header names to plain values (no CR, LF"),
}


@pytest.mark.parametrize("case", sorted(FILLED))
def test_a_request_argument_filled_to_the_wrong_type_is_a_harness_error(tmp_path, cloud, case):
    value, args, fragment = FILLED[case]
    scenario, = load(tmp_path, f"name: x\nvars: {{v: {value}}}\nsteps:\n  - request: {{{args}}}\n")
    runners: list[ScenarioRunner] = []
    with pytest.raises(HarnessError) as info:
        run(scenario, cloud, runners)
    assert [call.endpoint for call in runners[0].calls] == []  # nothing was sent
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'x.scenario.yaml'}:4: step 1 (request): once its placeholders are filled, "
                              ), message
    assert fragment in message and "nothing was sent" in message and len(message.splitlines()) == 1, message


def test_a_literal_header_with_cr_lf_is_a_load_time_error(tmp_path):
    message = load_error(tmp_path, 'name: x\nsteps:\n  - request: {path: /health, headers: {X-A: "a\\r\\nB: c"}}\n')
    assert "x.scenario.yaml:3:" in message and "no CR, LF" in message, message


def test_a_filled_duration_is_checked_too(tmp_path, cloud):
    path = tmp_path / "x.scenario.yaml"
    for args in ({"eventually": "{vars.t}"}, {"eventually": {"timeout": "{vars.t}"}}, {"max_time": "{vars.t}"}):
        step = Step(index=1, kind="platform", args=args, line=7, path=path)
        scenario = Scenario(name="x", path=path, line=1, steps=[step], vars={"t": float("inf")})
        with pytest.raises(HarnessError, match=r"x\.scenario\.yaml:7: step 1 \(platform\): 'eventually|'max_time"):
            run(scenario, cloud)


# -- smaller: the distribution check's own mistakes -------------------------------------------------------------
def test_a_distribution_error_names_the_matcher_once(tmp_path):
    message = load_error(tmp_path, """
        name: x
        steps:
          - create: {save: job}
          - results: {job: job, expect: {results: {distribution: {reference: ideal, alpha: 2}}}}
        """)
    assert ":4:" in message and "distribution: alpha must be" in message, message
    assert "distribution: distribution" not in message, message


def test_an_inline_reference_state_that_is_not_a_state_is_a_load_time_error(tmp_path):
    message = load_error(tmp_path, """
        name: x
        steps:
          - create: {save: job}
          - results: {job: job, expect: {results: {distribution: {reference: {zz: 0.5, "|1,0>": 0.5}}}}}
        """)
    assert ":4:" in message and "reference state 'zz' is not a state" in message, message


def test_a_computed_reference_the_job_payload_cannot_give_is_a_harness_error(tmp_path, cloud):
    pytest.importorskip("perceval")
    scenario, = load(tmp_path, """
        name: x
        steps:
          - create:
              body: {platform_name: "{platform}", payload: {command: sample_count, circuit: ":PCVL:ACircuit:{}",
                                                            input_state: "|1,0>", max_shots: 100}}
              save: job
          - wait: {job: job, until: completed, timeout: 30s}
          - results: {job: job, expect: {results: {distribution: {reference: ideal}}}}
        """)  # a placeholder circuit Perceval cannot read (the cloud invents results for it): the scenario's mistake
    with pytest.raises(HarnessError, match=r"x\.scenario\.yaml:8: step 3 \(results\): .*distribution: reference "
                                           r"'ideal': the payload's experiment could not be read"):
        run(scenario, cloud)


def test_a_computed_reference_of_a_payload_without_an_experiment_is_the_tests_mistake():
    pytest.importorskip("perceval")
    from pytest_cloudjob.physics.distribution import (
        DistributionContext,
        DistributionSpecError,
        assert_distribution,
        check_distribution,
    )

    context = DistributionContext(payload={"command": "sample_count"}, platform_details=dict)
    text = '{"results": {"|1,0>": 5}}'
    problem, = check_distribution(text, {"reference": "ideal"}, "results", context)
    assert getattr(problem, "is_harness_problem", False) and "has no experiment to simulate" in problem
    assert problem.startswith("results: distribution: reference 'ideal'"), problem
    with pytest.raises(DistributionSpecError, match="has no experiment"):
        assert_distribution(text, "ideal", context=context)
