"""An error a step expects is the step's success: the call that fails inside ``reporting.expecting_error()``
is a passed sub-step with an ``expected error: HTTP 404`` note, not a yellow "broken" step in a green test."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_cloudjob.server.process import start_reference_cloud

SHIPPED = Path(__file__).parents[2] / "scenarios"
TOKEN = "tok-expected-4b1d9e07aa"
ADMIN_TOKEN = "tok-expected-admin-51c2"

PYTHON_TESTS = """
import pytest

from pytest_cloudjob import Job, reporting
from pytest_cloudjob.api.errors import CloudApiError


def test_an_expected_error(cloud_context, cloud_user):
    job = Job(platform_name="qpu:does-not-exist")
    with reporting.expecting_error(), pytest.raises(CloudApiError):
        job.create(cloud_context, cloud_user)


def test_the_same_error_unannounced(cloud_context, cloud_user):
    job = Job(platform_name="qpu:does-not-exist")
    with pytest.raises(CloudApiError):
        job.create(cloud_context, cloud_user)


def test_expecting_nothing_is_a_no_op(cloud_context, cloud_user):
    job = Job(platform_name="qpu:does-not-exist")
    with reporting.expecting_error(False), pytest.raises(CloudApiError):
        job.create(cloud_context, cloud_user)
"""


@pytest.fixture
def results(pytester, tmp_path_factory, monkeypatch):
    cloud = start_reference_cloud(tmp_path_factory.mktemp("cloud") / "cloud.log",
                                  [f"--user-token={TOKEN}", f"--admin-token={ADMIN_TOKEN}"])
    monkeypatch.setenv("CLOUDJOB_URL", cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", ADMIN_TOKEN)
    pytester.makepyfile(test_expected=PYTHON_TESTS)
    shutil.copy(SHIPPED / "platforms.scenario.yaml", pytester.path / "platforms.scenario.yaml")
    result = pytester.runpytest_subprocess("--alluredir", "allure-results", "-p", "no:cacheprovider")
    assert cloud.stop() == 0
    results_dir = pytester.path / "allure-results"
    by_name = {r["name"]: r for r in (json.loads(p.read_text()) for p in results_dir.glob("*-result.json"))}
    return result, results_dir, by_name


def all_steps(steps: list[dict]) -> list[dict]:
    return [s for step in steps for s in [step, *all_steps(step.get("steps", []))]]


def create_step(result: dict) -> dict:
    return next(s for s in all_steps(result["steps"]) if s["name"].startswith("create job"))


def test_an_expected_error_is_a_passed_step_with_a_note(results):
    result, results_dir, by_name = results
    assert result.parseoutcomes()["passed"] >= 3, result.stdout.str()

    expected = by_name["test_an_expected_error"]
    step = create_step(expected)
    assert expected["status"] == "passed" and step["status"] == "passed"
    note = next(a for a in step["attachments"] if a["name"].startswith("expected error"))
    assert note["name"] == "expected error: HTTP 404"
    assert "CloudApiError" in (results_dir / note["source"]).read_text()
    assert any(a["name"].startswith("POST /api/job -> 404") for a in step["attachments"]), "the call is still shown"

    for control in ("test_the_same_error_unannounced", "test_expecting_nothing_is_a_no_op"):
        assert create_step(by_name[control])["status"] == "broken", control  # allure's own verdict, unchanged


def test_a_passing_scenario_that_expects_errors_has_no_broken_step(results):
    _, _, by_name = results
    scenario = by_name["an unknown platform is refused [sim:qa]"]
    assert scenario["status"] == "passed"
    assert [s["name"] for s in all_steps(scenario["steps"]) if s["status"] != "passed"] == []
