"""The run writes its per-platform figures into the Allure folder (docs/reporting.md, "The run's figures, run
after run"): ``cloudjob-figures.json`` with the numbers the ``cloudjob`` summary prints, ``cloudjob-perf.json``
with the same numbers as Allure 3's performance metrics, and their titles in ``allurerc.json``, whose
``historyPath`` makes Allure 3 keep them run after run. Runs are in-process, against the session's cloud."""
from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.usefixtures("clean_environment")

TWO_PLATFORMS = """
def test_completes(cloud_context, cloud_user, cloud_job_factory):
    job = cloud_job_factory.create()
    job.wait_until(cloud_context, cloud_user, "completed", timeout=60)
"""


def test_the_summarys_per_platform_figures_are_written_for_allure_3(pytester, against):
    pytester.makepyfile(test_run=TWO_PLATFORMS)
    result = pytester.runpytest_inprocess("--alluredir", "allure-results", "-p", "no:cacheprovider",
                                          "--cloud-platform", "sim:qa", "--cloud-platform", "qpu:qa")
    result.assert_outcomes(passed=2)
    folder = pytester.path / "allure-results"
    figures = json.loads((folder / "cloudjob-figures.json").read_text())["platforms"]
    assert set(figures) == {"sim:qa", "qpu:qa"}
    summary = result.stdout.str()
    for platform, entry in figures.items():
        assert entry["jobs"] == {"created": 1, "completed": 1, "failed": 0, "canceled": 0, "unended": 0}
        assert 0 < entry["p50_s"] <= entry["p95_s"] and entry["status_calls_per_job"] >= 1
        assert entry["datasheet"] == []  # no datasheet check ran
        # the numbers of the terminal's cloudjob summary, to its two decimals
        row = f"{platform} +1 +1 +0 +0 +0 +{entry['p50_s']:.2f}s +{entry['p95_s']:.2f}s +{entry['status_calls_per_job']:.1f}"
        assert re.search(row, summary), (row, summary)

    perf = json.loads((folder / "cloudjob-perf.json").read_text())
    by_key = {m["key"]: m for m in perf}
    assert set(by_key) == {f"{p} {n}" for p in figures for n in ("p50", "p95", "status calls/job")}
    assert by_key["qpu:qa p95"]["value"] == figures["qpu:qa"]["p95_s"] and by_key["qpu:qa p95"]["unit"] == "s"
    assert all(isinstance(m["value"], float) and m["start"] == m["stop"] > 0 for m in perf)

    config = json.loads((folder / "allurerc.json").read_text())
    assert config["historyPath"] == "allure-history.jsonl"  # without one Allure 3 keeps no earlier run
    assert set(config["performance"]["metrics"]) == set(by_key)
    assert config["performance"]["metrics"]["sim:qa p50"] == {"title": "sim:qa: p50 time to finish", "unit": "s",
                                                            "better": "lower", "group": "sim:qa"}
    assert set(config["performance"]["groups"]) == {"sim:qa", "qpu:qa"}
    assert config["categories"]["rules"]  # still there


def test_a_run_that_made_no_job_writes_no_metric(pytester, against):
    pytester.makepyfile(test_run="def test_nothing(cloud_context):\n    pass\n")
    result = pytester.runpytest_inprocess("--alluredir", "allure-results", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    folder = pytester.path / "allure-results"
    assert json.loads((folder / "cloudjob-perf.json").read_text()) == []
    assert "performance" not in json.loads((folder / "allurerc.json").read_text())
