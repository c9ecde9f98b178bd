"""The shipped suite as an acceptance suite: unchanged and green against a correct cloud given by URL and
tokens (with transient 503s, dropped reads and latency), and red against a cloud that breaks a promise."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_cloudjob.server.defects import DEFECTS
from pytest_cloudjob.server.process import start_reference_cloud

SHIPPED = Path(__file__).parents[2] / "scenarios"
# The scenario of the shipped suite that must catch each defect.
CAUGHT_BY = {
    "open-admin": "every admin call is refused to a regular user",
    "shared-jobs": "one user's job is invisible to another",
    "anonymous-allowed": "no token and a wrong token are refused",
    "cancel-ended-accepted": "cancelling an ended job is refused",
    "wrong-shot-count": "a sample_count job completes with well-formed status and results",
    "no-progress": "a sample_count job completes with well-formed status and results",
    "lax-create": "invalid create bodies are refused",
    "rerun-refused": "a cancelled job can be rerun as a new job",
}


def run_shipped_suite_against(pytester, monkeypatch, tmp_path, cloud_args, *pytest_args):
    cloud = start_reference_cloud(tmp_path / "cloud.log", cloud_args)
    try:
        monkeypatch.setenv("CLOUDJOB_URL", cloud.url)
        for env, account in (("CLOUDJOB_TOKEN", "user"), ("CLOUDJOB_OTHER_TOKEN", "other"),
                             ("CLOUDJOB_ADMIN_TOKEN", "admin")):
            monkeypatch.setenv(env, cloud.tokens[account])
        for path in SHIPPED.glob("*.scenario.yaml"):
            shutil.copy(path, pytester.path / path.name)
        return pytester.runpytest_subprocess("-rfs", *pytest_args)
    finally:
        assert cloud.stop() == 0


def test_every_defect_has_a_scenario_that_catches_it():
    assert set(CAUGHT_BY) == set(DEFECTS)


def test_green_and_unchanged_against_a_flaky_slow_cloud_given_by_url_and_tokens(pytester, monkeypatch, tmp_path):
    faults = ["--read-503-rate", "0.15", "--drop-rate", "0.03", "--latency", "0.02", "--run-time", "qpu:qa=1"]
    result = run_shipped_suite_against(pytester, monkeypatch, tmp_path, faults, "-n", "2",
                                       "--cloud-platform", "sim:qa", "--cloud-platform", "qpu:qa")
    output = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0, output
    assert outcomes["passed"] == 29, output  # 15 scenarios x 2 platforms, one of them qpu:qa-only
    assert "embedded" not in output and "0 leaked" in output


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_red_when_the_cloud_breaks_a_promise(pytester, monkeypatch, tmp_path, defect):
    result = run_shipped_suite_against(pytester, monkeypatch, tmp_path, ["--break", defect],
                                       "--cloud-platform", "sim:qa")
    output = result.stdout.str()
    assert result.ret == 1, output
    failed = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert any(f"::{CAUGHT_BY[defect]}[sim:qa]" in line for line in failed), output
