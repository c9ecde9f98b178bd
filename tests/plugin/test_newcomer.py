"""A newcomer's QA repository, built as a user would from the docs: their own scenarios and Python tests, the
usual mistakes, a cloud given by URL. Each mistake gets the verdict a QA engineer needs: a harness mistake is a
load-time error or a warning naming the fix, never a cloud defect, and a cloud's failure says why."""
from __future__ import annotations

import pytest

GOOD_SCENARIO = """\
name: a job completes
steps:
  - create: {payload: {command: sample_count, max_shots: 100}, save: job}
  - wait: {job: job, until: completed, timeout: 30s}
"""
MATCHER_TYPO = """\
name: a typo in a matcher
steps:
  - create: {save: job}
  - status:
      job: job
      expect: {status: {one_off: [waiting, running, completed]}}
"""
NOT_NAMED_AS_A_SCENARIO = "name: never collected\nsteps:\n  - create: {save: job}\n"
PYTHON_TESTS = """\
def test_lifecycle(cloud_context, cloud_user, cloud_job_factory):
    job = cloud_job_factory.create()
    job.wait_until(cloud_context, cloud_user, "completed", timeout=30)


def test_a_job_the_cloud_fails(cloud_context, cloud_user, cloud_job_factory):
    job = cloud_job_factory.create(payload={"command": "nonsense", "max_shots": 10})
    job.wait_until(cloud_context, cloud_user, "completed", timeout=30)
"""


@pytest.fixture
def qa_repository(pytester, monkeypatch, reference_cloud):
    """The newcomer's repository, pointed at a cloud by URL with a user token and no admin token."""
    for name in ("CLOUDJOB_OTHER_TOKEN", "CLOUDJOB_ADMIN_TOKEN", "CLOUDJOB_NO_SWEEP", "CLOUDJOB_PLATFORMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDJOB_URL", reference_cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", reference_cloud.tokens["user"])
    pytester.makefile(".scenario.yaml", good=GOOD_SCENARIO, typo=MATCHER_TYPO)
    pytester.makefile(".yaml", login=NOT_NAMED_AS_A_SCENARIO)
    pytester.makepyfile(test_mine=PYTHON_TESTS)
    return pytester


def test_without_an_admin_token_the_run_stops_naming_the_variable_and_the_opt_out(qa_repository, reference_cloud):
    result = qa_repository.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "set CLOUDJOB_ADMIN_TOKEN" in output and "--cloud-no-sweep" in output
    assert "passed" not in output.splitlines()[-1]  # nothing ran green without the leak check
    assert reference_cloud.tokens["user"] not in output


def test_each_mistake_gets_its_own_verdict_and_the_cloud_failure_says_why(qa_repository, reference_cloud):
    result = qa_repository.runpytest_subprocess("-p", "no:cacheprovider", "--cloud-no-sweep", "-rfE")
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2, failed=1, errors=1, warnings=1)
    # the matcher typo: a load-time error at its line, with the fix, before any job was made for it
    result.stdout.fnmatch_lines(["*typo.scenario.yaml:6: *unknown matcher 'one_off' (did you mean 'one_of'?)*"])
    # the YAML file not named *.scenario.yaml: a warning that points at it and says how to fix it
    result.stdout.fnmatch_lines(["*login.yaml: looks like a scenario*not collected*rename it*"])
    # the cloud's own failure: its failure code and message, and none of the plugin's frames
    result.stdout.fnmatch_lines(["*job ended as error (failure_code: UNKNOWN_COMMAND; status_message: *"])
    assert "pytest_cloudjob/" not in output.split("short test summary")[0].split("FAILURES")[-1]
    # the opt-out is visible in the summary, and no token anywhere
    assert "leak sweep: no admin token, skipped by choice (--cloud-no-sweep)" in output
    assert reference_cloud.tokens["user"] not in output
