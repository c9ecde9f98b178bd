"""A ``datasheet`` check draws its chart (the estimate and its interval against the advertised value and the
margin band) into its Allure step, failing or passing; a drawing that fails never breaks the check
(docs/reporting.md, "A chart of each datasheet check")."""
from __future__ import annotations

import json

import pytest

from pytest_cloudjob.physics import chart, datasheet, datasheet_chart
from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV

pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")

PNG = b"\x89PNG\r\n\x1a\n"

#: On a cloud whose device has g2 5 % (advertised 2 %), the g2 check fails and the transmittance one passes.
SCENARIOS = """
name: the advertised g2
steps:
  - create:
      payload:
        command: sample_count
        max_shots: 50000
        experiment: {circuit: [bs: 0], input: [0, 1], min_photons: 1}
      save: job
  - wait: {job: job, until: completed, timeout: 120s}
  - results: {job: job, expect: {results: {datasheet: {figure: g2, margin: 0.01}}}}
---
name: the advertised transmittance
steps:
  - create:
      payload:
        command: sample_count
        max_shots: 10000
        experiment: {modes: 3, input: [1, 1, 1]}
      save: job
  - wait: {job: job, until: completed, timeout: 120s}
  - results: {job: job, expect: {results: {datasheet: {figure: transmittance, margin: 0.05}}}}
"""


def all_steps(steps: list[dict]) -> list[dict]:
    return [s for step in steps for s in [step, *all_steps(step.get("steps", []))]]


def run_scenarios(pytester, cloud, monkeypatch, *args: str):
    monkeypatch.setenv(SETTINGS["url"].env, cloud.url)
    for role, env in TOKEN_ENV.items():
        monkeypatch.setenv(env, cloud.tokens[role])
    pytester.makefile(".scenario.yaml", datasheets=SCENARIOS)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "--alluredir", "allure-results",
                                        "--cloud-platform", "qpu:qa", *args)


def results_by_name(folder) -> dict[str, dict]:
    return {r["name"]: r for r in (json.loads(p.read_text()) for p in folder.glob("*-result.json"))}


def test_each_datasheet_step_in_allure_carries_its_chart_failing_or_passing(pytester, broken_cloud, monkeypatch):
    pytest.importorskip("matplotlib")
    result = run_scenarios(pytester, broken_cloud("g2-drifted"), monkeypatch)
    result.assert_outcomes(passed=1, failed=1)
    folder = pytester.path / "allure-results"
    by_name = results_by_name(folder)
    for name, figure, status in (("the advertised g2", "g2", "failed"),
                                 ("the advertised transmittance", "transmittance", "passed")):
        steps = [s for s in all_steps(by_name[f"{name} [qpu:qa]"]["steps"])
                 if any(a["type"] == "image/png" for a in s.get("attachments", []))]
        assert [s["name"].split(":")[0] for s in steps] == ["step 3"], name  # the results step, and only it
        assert steps[0]["status"] == status
        image = next(a for a in steps[0]["attachments"] if a["type"] == "image/png")
        assert image["name"].startswith(f"datasheet chart: results.results: datasheet {figure}"), image["name"]
        assert ("FAILED" in image["name"]) == (status == "failed")
        assert (folder / image["source"]).read_bytes().startswith(PNG)


def test_a_chart_that_cannot_be_drawn_never_breaks_the_check(pytester, broken_cloud, monkeypatch):
    """A matplotlib that raises while drawing (not merely absent): the verdicts stay the cloud's, the step says
    why it has no picture."""
    def broken(data: object) -> bytes:
        raise RuntimeError("matplotlib: cannot write its font cache")
    monkeypatch.setattr(datasheet_chart, "render_png", broken)
    result = run_scenarios(pytester, broken_cloud("g2-drifted"), monkeypatch)
    result.assert_outcomes(passed=1, failed=1)
    by_name = results_by_name(pytester.path / "allure-results")
    for name in ("the advertised g2 [qpu:qa]", "the advertised transmittance [qpu:qa]"):
        attachments = [a for s in all_steps(by_name[name]["steps"]) for a in s.get("attachments", [])]
        assert not [a for a in attachments if a["type"] == "image/png"]
        assert [a["name"] for a in attachments if a["name"].endswith(": not drawn")], name


def test_the_chart_shows_the_band_the_interval_and_the_verdict():
    figure = datasheet.FIGURES["g2"]
    finding = datasheet.Finding(figure, 0.02, 0.01, 320, 50_000, 0.049, (0.044, 0.054), 1e-6, 1e-12, (0.001, 0.004))
    data = datasheet_chart.chart_data(finding, "results")
    assert data.title == "results: datasheet g2 FAILED at alpha=1e-06" and not data.passed
    assert data.band == pytest.approx((0.01, 0.03)) and data.interval == (0.044, 0.054) and data.advertised == 0.02
    assert "320 coincidences in 50,000 samples" in data.figures and "99.9999 % interval" in data.figures
    low_end = datasheet.Finding(figure, 0.005, 0.01, 5, 50_000, 0.004, (0.002, 0.006), 1e-6, 0.5, (0.0, 0.001))
    assert datasheet_chart.chart_data(low_end, "results").band == (0.0, 0.015)  # clipped to the figure's range
    if chart.available():
        assert (data.png() or b"").startswith(PNG)


def test_the_estimated_figures_are_among_the_runs_figures_for_allure_3(pytester, broken_cloud, monkeypatch):
    """Each datasheet estimate goes into ``cloudjob-figures.json`` (with its interval, advertised value and
    verdict) and into Allure 3's metrics, in percent, keyed by platform and figure (docs/reporting.md)."""
    result = run_scenarios(pytester, broken_cloud("g2-drifted"), monkeypatch)
    result.assert_outcomes(passed=1, failed=1)
    folder = pytester.path / "allure-results"
    checks = json.loads((folder / "cloudjob-figures.json").read_text())["platforms"]["qpu:qa"]["datasheet"]
    by_figure = {c["figure"]: c for c in checks}
    assert set(by_figure) == {"g2", "transmittance"}
    g2 = by_figure["g2"]
    assert g2["test"].endswith("::the advertised g2[qpu:qa]") and not g2["passed"]
    assert g2["advertised"] == pytest.approx(0.02) and g2["margin"] == 0.01 and g2["low"] > 0.03  # g2 drifted to 5 %
    assert g2["low"] <= g2["estimate"] <= g2["high"] and g2["samples"] > 0
    assert by_figure["transmittance"]["passed"]
    perf = {m["key"]: m for m in json.loads((folder / "cloudjob-perf.json").read_text())}
    assert perf["qpu:qa datasheet g2"]["value"] == pytest.approx(100 * g2["estimate"])
    assert perf["qpu:qa datasheet g2 high"]["value"] == pytest.approx(100 * g2["high"])
    assert (perf["qpu:qa datasheet g2"]["unit"], perf["qpu:qa datasheet g2"]["better"]) == ("%", "lower")
    assert perf["qpu:qa datasheet transmittance"]["better"] == "higher"
    config = json.loads((folder / "allurerc.json").read_text())["performance"]["metrics"]
    assert config["qpu:qa datasheet g2"]["title"] == "qpu:qa: g2 estimated (datasheet, advertised 2 ± 1)"
