"""A ``distribution`` check draws its chart (expected vs observed per outcome, the worst marked) into its Allure
step, failing or passing; capped to a few bars whatever the outcomes; no picture and no error without
matplotlib (docs/reporting.md)."""
from __future__ import annotations

import json
import random
import sys

import pytest

from pytest_cloudjob.physics import chart, stats
from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV

pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")

PNG = b"\x89PNG\r\n\x1a\n"
#: Two photons on a 50:50 beam splitter (HOM) fail on a cloud answering uniformly; one photon passes there.
SCENARIOS = """
name: two photons bunch on a beam splitter
steps:
  - create:
      payload:
        command: sample_count
        max_shots: 1000
        experiment: {circuit: [{bs: 0}], input: [1, 1], min_photons: 2}
      save: job
  - wait: {job: job, until: completed, timeout: 60s}
  - results: {job: job, expect: {results: {distribution: {reference: ideal}}}}
---
name: one photon splits evenly on a beam splitter
steps:
  - create:
      payload:
        command: sample_count
        max_shots: 1000
        experiment: {circuit: [{bs: 0}], input: [1, 0], min_photons: 1}
      save: job
  - wait: {job: job, until: completed, timeout: 60s}
  - results: {job: job, expect: {results: {distribution: {reference: ideal}}}}
"""


def all_steps(steps: list[dict]) -> list[dict]:
    return [s for step in steps for s in [step, *all_steps(step.get("steps", []))]]


def test_each_physics_step_in_allure_carries_its_chart_failing_or_passing(pytester, broken_cloud, monkeypatch):
    pytest.importorskip("matplotlib")
    cloud = broken_cloud("uniform-results")
    monkeypatch.setenv(SETTINGS["url"].env, cloud.url)
    for role, env in TOKEN_ENV.items():
        monkeypatch.setenv(env, cloud.tokens[role])
    pytester.makefile(".scenario.yaml", beam_splitter=SCENARIOS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--alluredir", "allure-results",
                                          "--cloud-platform", "sim:qa")
    result.assert_outcomes(passed=1, failed=1)
    folder = pytester.path / "allure-results"
    by_name = {r["name"]: r for r in (json.loads(p.read_text()) for p in folder.glob("*-result.json"))}
    for name, status in (("two photons bunch on a beam splitter", "failed"),
                         ("one photon splits evenly on a beam splitter", "passed")):
        steps = [s for s in all_steps(by_name[f"{name} [sim:qa]"]["steps"])  # the platform in the title
                 if any(a["type"] == "image/png" for a in s.get("attachments", []))]
        assert [s["name"].split(":")[0] for s in steps] == ["step 3"], name  # the results step, and only it
        assert steps[0]["status"] == status
        image = next(a for a in steps[0]["attachments"] if a["type"] == "image/png")
        assert image["name"].startswith("distribution chart: results.results: distribution check")
        assert ("FAILED" in image["name"]) == (status == "failed")
        assert (folder / image["source"]).read_bytes().startswith(PNG)


def test_the_chart_is_capped_and_marks_the_worst_outcomes():
    rng = random.Random(3)
    reference = {f"|{i},{3000 - i}>": rng.random() for i in range(3000)}  # many outcomes, as at 12 modes
    counts = {state: 3 for state in list(reference)[:2000]}
    counts["|9,9>"] = 40  # an outcome the reference does not list
    verdict = stats.compare(counts, reference)
    data = chart.chart_data(counts, reference, verdict, "results")
    assert not data.passed and "FAILED" in data.title
    assert len(data.bars) <= chart.TOP + 5 + 1  # the largest, the worst, and one bar for all the others
    assert data.bars[-1].label == f"all {3000 - sum(1 for b in data.bars[:-1] if b.label.startswith('|')):,} other outcomes"
    assert sum(b.seen for b in data.bars) == verdict.shots
    assert sum(b.expected for b in data.bars) == pytest.approx(verdict.shots)
    assert {b.label for b in data.bars if b.worst} >= {"not in the reference (most seen: |9,9>)"}
    if chart.available():
        assert (chart.render_png(data) or b"").startswith(PNG)


def test_without_matplotlib_there_is_no_picture_and_no_error(monkeypatch):
    verdict = stats.compare({"a": 10}, {"a": 1.0})
    data = chart.chart_data({"a": 10}, {"a": 1.0}, verdict, "results")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as when it is not installed
    assert not chart.available()
    assert chart.render_png(data) is None
