"""Reports agree with the exit code, and each Allure test is one row on one platform.

A run that fails outside every test (the leak sweep finds a job left running, a threshold is exceeded) exits
1: junit XML and the Allure folder then hold a failed ``run-level: ...`` result saying why, masked. A
``parametrize:`` row is its own Allure test case (its own history id), so Allure 3 never shows one row as
a retry of another, and the platform is in the title. Runs are in-process, against the session's cloud.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from pytest_cloudjob.reporting.allure_categories import CATEGORIES

pytestmark = pytest.mark.usefixtures("clean_environment")

LEAKING_TESTS = """
import os

import pytest

from pytest_cloudjob import Job


@pytest.mark.parametrize("tag", [os.environ["CLOUDJOB_TOKEN"]])  # the token in the node id, so in the message
def test_leaks(cloud_context, cloud_user, cloud_slow_platform, tag):
    Job(platform_name=cloud_slow_platform).create(cloud_context, cloud_user)


def test_completes(cloud_context, cloud_user, cloud_job_factory):
    job = cloud_job_factory.create()
    job.wait_until(cloud_context, cloud_user, "completed", timeout=30)
"""
GREEN_TEST = LEAKING_TESTS[LEAKING_TESTS.index("def test_completes"):]

ROWS = """
name: rows on platforms
parametrize:
  - {shots: 1}
  - {id: many, shots: 5}
steps:
  - create: {payload: {command: sample_count, max_shots: "{vars.shots}"}, save: job}
"""


def allure_results(pytester) -> list[dict]:
    return [json.loads(p.read_text()) for p in (pytester.path / "allure-results").glob("*-result.json")]


def category_of(result: dict) -> str:
    message = result.get("statusDetails", {}).get("message", "")
    return next(c["name"] for c in CATEGORIES if result["status"] in c["matchedStatuses"]
                and re.fullmatch(c.get("messageRegex", r"[\s\S]*"), message))


def test_a_leak_and_a_threshold_are_failed_results_in_junit_and_allure(pytester, against):
    token = against.tokens["user"]
    pytester.makepyfile(test_run=LEAKING_TESTS)
    result = pytester.runpytest("--junitxml", "junit.xml", "--alluredir", "allure-results", "-p", "no:cacheprovider",
                                "--cloud-max-status-calls", "sim:qa=0")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=2)  # the terminal counts tests; its cloudjob summary says why the run failed

    junit = (pytester.path / "junit.xml").read_text()
    cases = {case.get("name"): case for case in ET.fromstring(junit).iter("testcase")
             if case.get("classname") == "cloudjob-run-level"}
    assert set(cases) == {"run-level: leak sweep found jobs left running", "run-level: performance thresholds exceeded"}
    assert not any(token in ET.tostring(case, encoding="unicode") for case in cases.values())
    leak = cases["run-level: leak sweep found jobs left running"].find("failure")
    assert leak is not None
    assert re.fullmatch(r"run-level: the end-of-run leak sweep found 1 job\(s\) of this run still active after every "
                        r"test had ended \(the sweep cancelled them\): \S+ \(sim:slow, running\) made by "
                        r"test_run\.py::test_leaks\[\*\*\*\]\. .*cloud_job_factory cancels its jobs at teardown\.",
                        leak.get("message", "")), leak.get("message")
    threshold = cases["run-level: performance thresholds exceeded"].find("failure")
    assert threshold is not None
    assert re.search(r"^run-level: the run's numbers exceed its thresholds: sim:qa: [0-9.]+ status calls per job "
                     r"exceeds the threshold 0 ", threshold.get("message", "")), threshold.get("message")
    suite = next(ET.fromstring(junit).iter("testsuite"))
    assert (suite.get("tests"), suite.get("failures")) == ("4", "2")

    results = allure_results(pytester)
    run_level = {r["name"]: r for r in results if r["fullName"].startswith("cloudjob-run-level#")}
    assert not any(token in json.dumps(r) for r in run_level.values())
    assert set(run_level) == set(cases)
    for name, each in run_level.items():
        assert each["status"] == "failed" and category_of(each) == "Run-level failures", name
        assert each["statusDetails"]["message"] == cases[name].find("failure").get("message")  # type: ignore[union-attr]
    assert {r["name"] for r in results} >= {"test_completes[sim:qa]"}


def test_a_green_run_writes_no_run_level_result(pytester, against):
    pytester.makepyfile(test_run=GREEN_TEST)
    result = pytester.runpytest("--junitxml", "junit.xml", "--alluredir", "allure-results", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    assert "cloudjob-run-level" not in (pytester.path / "junit.xml").read_text()
    assert [r["name"] for r in allure_results(pytester)] == ["test_completes[sim:qa]"]


def test_each_parametrize_row_on_each_platform_is_its_own_allure_test(pytester, against):
    pytester.makefile(".scenario.yaml", rows=ROWS)
    result = pytester.runpytest("--alluredir", "allure-results", "-p", "no:cacheprovider",
                                "--cloud-platform", "sim:qa", "--cloud-platform", "qpu:qa")
    result.assert_outcomes(passed=4)
    results = allure_results(pytester)
    assert sorted(r["name"] for r in results) == ["rows on platforms[many] [qpu:qa]", "rows on platforms[many] [sim:qa]",
                                                  "rows on platforms[shots=1] [qpu:qa]",
                                                  "rows on platforms[shots=1] [sim:qa]"]
    assert len({r["historyId"] for r in results}) == 4, "a row or a platform sharing a history id is shown as a retry"
    by_row: dict[str, set[str]] = {}
    for each in results:
        parameters = {p["name"]: p["value"] for p in each["parameters"]}
        by_row.setdefault(parameters["row"], set()).add(each["testCaseId"])
    assert set(by_row) == {"'shots=1'", "'many'"}
    assert all(len(ids) == 1 for ids in by_row.values()) and by_row["'shots=1'"] != by_row["'many'"]


def test_a_sweep_that_could_not_complete_and_a_rejected_check_read_in_one_go_and_masked():
    from pytest_cloudjob.redaction import register_secret
    from pytest_cloudjob.reporting.run_level import allure_result
    from pytest_cloudjob.run.budget import CheckResult
    from pytest_cloudjob.run.settings import CloudSettings
    from pytest_cloudjob.run.summary import run_failures, run_level_failures
    from pytest_cloudjob.run.target import CloudRun

    secret = "tok-sweep-9c1e77ab40"
    register_secret(secret)
    run = CloudRun(CloudSettings(url=None, platforms=("sim:qa",), slow_platform="sim:slow", timeout=30.0,
                                 pcvl_version="0.12.0"), run_id="run-1234")
    assert run_level_failures(run) == [] and run_failures(run) == []
    run.sweep_error = f"the leak sweep could not complete: GET /api/admin/jobs -> HTTP 500; body: {secret}"
    run.budget.planned = 1
    run.budget.record(CheckResult("x.scenario.yaml::hom[sim:qa]", "x.scenario.yaml:9 expect", 1e-9, 1e-6, None, False))
    failures = run_level_failures(run)
    assert [f.title for f in failures] == ["run-level: leak sweep could not complete",
                                           "run-level: statistical checks rejected by the run's false-alarm budget"]
    assert failures[0].message == ("run-level: the leak sweep could not complete: GET /api/admin/jobs -> HTTP 500; "
                                   "body: ***; jobs this run left active may still be running on the cloud (list "
                                   "them as admin with process_id=run-1234).")
    assert failures[1].message.startswith("run-level: statistical checks: FAILED, 1 counted at collection")
    assert "x.scenario.yaml::hom[sim:qa] (x.scenario.yaml:9 expect): p-value 1e-09" in failures[1].message
    assert len(run_failures(run)) == len(failures)  # the exit code and the reports count the same failures
    result = allure_result(failures[0], "embedded reference cloud")
    assert result.status == "failed" and result.historyId == allure_result(failures[0], "x").historyId
    assert secret not in str(result.statusDetails.message)
