"""Scenarios through real pytest sessions: collection, every step kind, failure messages, and a corpus
of malformed files that each give their own clear error while the good files still run."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

MALFORMED = Path(__file__).parent / "malformed"
EXPECTED = json.loads((MALFORMED / "expected.json").read_text())
SHIPPED = Path(__file__).parents[2] / "scenarios"

GOOD = """
name: completes with results
marks: [smoke]
steps:
  - create: {save: job, payload: {max_shots: 100}}
  - wait: {job: job, until: completed, timeout: 30s}
  - results:
      job: job
      expect: {results: {json: {results: {sum: 100}}}}
---
name: platform details
marks: [platform]
steps:
  - platform: {expect: {name: "{platform}"}}
"""


def test_scenarios_collect_per_platform_with_ids_marks_and_k(pytester):
    pytester.makefile(".scenario.yaml", lifecycle=GOOD)
    result = pytester.runpytest("--collect-only", "-q", "--cloud-platform", "sim:qa",
                                           "--cloud-platform", "qpu:qa")
    result.stdout.fnmatch_lines([
        "lifecycle.scenario.yaml::completes with results[[]sim:qa[]]",
        "lifecycle.scenario.yaml::completes with results[[]qpu:qa[]]",
        "lifecycle.scenario.yaml::platform details[[]sim:qa[]]",
        "lifecycle.scenario.yaml::platform details[[]qpu:qa[]]",
    ])
    assert "reference cloud" not in result.stdout.str()  # --collect-only starts nothing
    result = pytester.runpytest("-m", "platform", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result = pytester.runpytest("-k", "completes", "-v")
    result.assert_outcomes(passed=1, deselected=1)


@pytest.mark.heavy(seconds=21)
def test_the_shipped_suite_covers_every_step_kind_and_passes(pytester):
    for path in SHIPPED.glob("*.scenario.yaml"):
        shutil.copy(path, pytester.path / path.name)
    text = "".join(p.read_text() for p in SHIPPED.glob("*.scenario.yaml"))
    for kind in ("create", "status", "wait", "results", "read", "cancel", "rerun", "platform", "list_all",
                 "cancel_many"):
        assert f"- {kind}:" in text, f"no shipped scenario uses the {kind} step"
    result = pytester.runpytest_subprocess("-n", "2", "--cloud-platform", "sim:qa", "--cloud-platform", "qpu:qa")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0 and outcomes["passed"] >= 25
    result.stdout.fnmatch_lines(["*0 leaked*"])


def test_a_failing_step_explains_itself(pytester):
    pytester.makefile(".scenario.yaml", broken_cloud_promise="""
name: expects the impossible
steps:
  - create: {save: job}
  - wait: {job: job, until: completed, timeout: 30s}
  - status:
      job: job
      expect: {status: running, progress: {max: 0.5}}
""")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*broken_cloud_promise.scenario.yaml:5: step 3 (status) failed on sim:qa",
        "*status.status: expected 'running', got 'completed'",
        "*status.progress: expected a number at most 0.5, got 1.0",
        "*request: GET http://127.0.0.1:*/api/job/status/* -> 200 in * ms",
        "*response: *completed*",
        "*job *: +0.000s * completed*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_wait_timeout_names_the_job_and_its_history(pytester):
    pytester.makefile(".scenario.yaml", slow="""
name: waits too little
steps:
  - create: {platform: "{slow_platform}", save: job}
  - wait: {job: job, until: completed, timeout: 300ms}
""")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*slow.scenario.yaml:4: step 2 (wait) failed on sim:qa",
                                 "*still running after 0.3s*expected completed; history: +0.000s *",
                                 "*0 leaked*"])


def test_an_expected_error_that_does_not_come_fails(pytester):
    pytester.makefile(".scenario.yaml", refusal="""
name: expects a refusal
steps:
  - create: {expect_error: {status: 400}}
""")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*step 1 (create) failed*", "*expected HTTP 400, but the call succeeded*"])


def test_an_unmet_precondition_is_not_conclusive_rather_than_green(pytester):
    pytester.makefile(".scenario.yaml", precondition="""
name: cancel while waiting
steps:
  - create: {save: job}
  - wait: {job: job, until: completed, timeout: 30s}
  - status: {job: job, require: {status: waiting}}
  - cancel: {job: job}
""")
    result = pytester.runpytest_inprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*not conclusive: step 3 (status) at line 5: its precondition was not reached*"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_malformed_file_gives_its_own_clear_error(pytester, name):
    shutil.copy(MALFORMED / f"{name}.scenario.yaml", pytester.path / f"{name}.scenario.yaml")
    result = pytester.runpytest_inprocess()
    line, message = EXPECTED[name]
    output = result.stdout.str()
    assert f"{name}.scenario.yaml" in output and line in output and message in output, output
    assert result.ret == pytest.ExitCode.INTERRUPTED or result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_malformed_files_do_not_stop_the_good_ones(pytester, xdist):
    for name in EXPECTED:
        shutil.copy(MALFORMED / f"{name}.scenario.yaml", pytester.path / f"{name}.scenario.yaml")
    pytester.makefile(".scenario.yaml", good=GOOD)
    result = pytester.runpytest_subprocess(*xdist) if xdist else pytester.runpytest()
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2, result.stdout.str()
    assert outcomes.get("errors", outcomes.get("error")) == len(EXPECTED)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
