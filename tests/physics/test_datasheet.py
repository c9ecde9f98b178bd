"""The datasheet checks (issue 20 item 4): each shipped one is green on the honest reference cloud, on both
platforms, and red on ``qpu:qa`` alone for the drift it is there to catch; a figure not advertised is not
conclusive; an experiment that does not identify the figure is the test's mistake, never the cloud's."""
from __future__ import annotations

import json
from typing import Any

import pytest
from physics_jobs import SHIPPED, submit

from pytest_cloudjob.physics import datasheet, simulate, wire
from pytest_cloudjob.physics.distribution import DistributionContext
from pytest_cloudjob.server.defects import CATALOGUE, PERF_DRIFTS
from pytest_cloudjob.server.platforms import default_platforms


def shipped_datasheet_checks() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """figure -> (payload, spec) of each datasheet check of scenarios/physics.scenario.yaml, as loaded (a
    detector's check by ``detector_efficiency[mode]``)."""
    from pytest_cloudjob.scenarios.loader import load_documents
    from pytest_cloudjob.scenarios.model import parse_scenario

    out = {}
    for index, document in enumerate(load_documents(SHIPPED)):
        scenario = parse_scenario(document, SHIPPED, index)
        for results in (s for s in scenario.steps if s.kind == "results"):
            spec = results.args["expect"]["results"].get("datasheet")
            if spec is not None:
                payload = next(s.args["payload"] for s in scenario.steps if s.kind == "create")
                name = spec["figure"] if spec.get("mode") is None else f"{spec['figure']}[{spec['mode']}]"
                out[name] = (json.loads(json.dumps(payload)), dict(spec))
    return out


CHECKS = shipped_datasheet_checks()
#: defect -> the figure whose shipped datasheet check kills it on qpu:qa alone
CAUGHT_BY = {"transmittance-halved": "transmittance", "g2-drifted": "g2", "hom-drifted": "hom",
             "detector-weak": "detector_efficiency[2]"}
DETECTORS = [f"detector_efficiency[{mode}]" for mode in range(4)]


def context_for(payload: dict[str, Any], **perfs: Any) -> DistributionContext:
    details = default_platforms()["qpu:qa"].details()
    details["perfs"] = {**details["perfs"], **perfs}
    return DistributionContext(payload, lambda: details)


def test_every_figure_qpu_qa_advertises_has_a_shipped_check_and_every_drift_a_killer():
    advertised = default_platforms()["qpu:qa"].details()["perfs"]
    figures = {datasheet.FIGURES[f].key for f in CHECKS if f not in DETECTORS}
    assert figures | {simulate.PER_MODE_KEY} == set(advertised) and set(DETECTORS) <= set(CHECKS)
    assert set(CAUGHT_BY) == set(PERF_DRIFTS) | {"detector-weak"} and all(CATALOGUE[d].physics for d in CAUGHT_BY)


@pytest.mark.parametrize("platform", ["sim:qa", "qpu:qa"])
@pytest.mark.parametrize("figure", sorted(CHECKS))
def test_green_on_the_honest_cloud(physics_cloud, figure, platform):
    payload, spec = CHECKS[figure]
    text, context = submit(physics_cloud, payload, platform=platform)
    problems, report = datasheet.check_datasheet(text, spec, "results", context)
    assert problems == [], problems
    assert "within" in report and f"margin {spec['margin']:g}" in report
    assert context.records and context.records[0].passed and context.records[0].p_value is not None


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_a_drift_of_realistic_size_is_caught_on_qpu_qa_alone(broken_cloud, defect):
    payload, spec = CHECKS[CAUGHT_BY[defect]]
    text, context = submit(broken_cloud(defect), payload, platform="qpu:qa")
    problems, report = datasheet.check_datasheet(text, spec, "results", context)
    assert len(problems) == 1 and problems[0].startswith("results: datasheet: "), problems
    for words in ("estimated", "interval", "Clopper-Pearson", "advertised", f"margin {spec['margin']:g}", "OUTSIDE"):
        assert words in problems[0], problems[0]
    assert context.records[0].p_value is not None and context.records[0].p_value <= 1e-6


def test_a_figure_the_platform_does_not_advertise_is_not_conclusive():
    payload, _ = CHECKS["transmittance"]
    text = json.dumps({"results": wire.bscount({"|1,1,0>": 5, "|1,0,0>": 5})})
    context = context_for(payload)
    problems, report = datasheet.check_datasheet(text, {"figure": "detector_efficiency", "margin": 0.05}, "results",
                                                 context)
    assert len(problems) == 1 and getattr(problems[0], "is_inconclusive", False) and not report
    assert "not conclusive" in problems[0] and "'Detector efficiency (%)'" in problems[0]
    assert context.records[0].p_value is None


def test_an_advertised_detector_efficiency_is_estimated_as_a_loss_before_the_detectors():
    payload, _ = CHECKS["transmittance"]
    honest = context_for(payload, **{"Detector efficiency (%)": 80.0})
    curve = datasheet._curve(payload, honest.platform_details()["perfs"], True, datasheet.FIGURES["transmittance"],
                             0.4, 0.0)  # transmittance 40 % is 50 % with detectors of efficiency 80 %
    c = curve["low_end"]
    text = json.dumps({"results": wire.bscount({"|1,1,0>": round(c * 10**5), "|1,0,0>": 10**5 - round(c * 10**5)})})
    problems, report = datasheet.check_datasheet(text, {"figure": "detector_efficiency", "margin": 0.02}, "results",
                                                 honest)
    assert problems == [] and "detector efficiency estimated 0.80" in report, report


def test_an_experiment_that_does_not_identify_the_figure_is_the_tests_mistake():
    payload, _ = CHECKS["transmittance"]  # three photons in three empty modes: no interference, HOM unseen
    text = json.dumps({"results": wire.bscount({"|1,1,0>": 5, "|1,0,0>": 5})})
    problems, _ = datasheet.check_datasheet(text, {"figure": "hom", "margin": 0.02}, "results", context_for(payload))
    assert len(problems) == 1 and getattr(problems[0], "is_harness_problem", False)
    assert "does not identify the HOM visibility" in problems[0]


def test_empty_results_are_not_conclusive():
    payload, spec = CHECKS["g2"]
    problems, _ = datasheet.check_datasheet(json.dumps({"results": ":PCVL:BSCount:{}"}), spec, "results",
                                            context_for(payload))
    assert len(problems) == 1 and getattr(problems[0], "is_inconclusive", False) and "empty" in problems[0]


@pytest.mark.parametrize(("spec", "words"), [
    ({"margin": 0.01}, "'figure' is required"),
    ({"figure": "g3", "margin": 0.01}, "figure 'g3' is not one of"),
    ({"figure": "g2"}, "'margin' is required"),
    ({"figure": "g2", "margin": 2}, "margin must be a number in [0, 1)"),
    ({"figure": "g2", "margin": 0.01, "alpha": 0}, "alpha must be a number strictly between 0 and 1"),
    ({"figure": "g2", "margin": 0.01, "tolerance": 0}, "unknown key 'tolerance'"),
    ({"figure": "g2", "margin": 0.01, "mode": 1}, "'mode' names a detector: it goes with figure detector_efficiency"),
    ({"figure": "detector_efficiency", "margin": 0.05, "mode": -1}, "mode must be a mode number >= 0"),
])
def test_a_wrong_spec_is_said_at_load_time(spec, words):
    problems = datasheet.validate_datasheet_spec(spec)
    assert len(problems) == 1 and words in problems[0], problems


@pytest.mark.parametrize(("x", "n", "level"), [(0, 100, 1e-2), (3, 1000, 1e-3), (250, 10_000, 1e-6), (999, 1000, 1e-2)])
def test_the_p_value_is_red_exactly_when_the_clopper_pearson_interval_misses_the_region(x, n, level):
    low, high = datasheet.clopper_pearson(x, n, level)
    for region in ((0.0, 0.001), (0.02, 0.03), (0.024, 0.026), (0.5, 0.9), (0.99, 1.0)):
        red = datasheet.binomial_p_value(x, n, *region) <= level
        assert red == (high < region[0] or low > region[1]), (x, n, level, region, low, high)


def test_a_run_budget_counts_the_check_and_tests_it_at_its_share():
    from pytest_cloudjob.scenarios.collect import _statistical

    spec = {"figure": "g2", "margin": 0.01}
    assert _statistical({"results": {"datasheet": spec}, "other": {"distribution": {"reference": "ideal"}}}) \
        == [("datasheet", spec), ("distribution", {"reference": "ideal"})]
    payload, _ = CHECKS["g2"]
    text = json.dumps({"results": wire.bscount({"|1,1>": 1, "|1,0>": 9999})})
    shared = context_for(payload)
    shared.run_level, shared.run_level_note = 1e-3, "the run's --cloud-alpha"
    _, report = datasheet.check_datasheet(text, spec, "results", shared)
    assert shared.records[0].level == 1e-3 and "at alpha 0.001 (the run's --cloud-alpha)" in report, report
    stricter = context_for(payload)
    stricter.run_level = 1e-3
    datasheet.check_datasheet(text, {**spec, "alpha": 1e-9}, "results", stricter)
    assert stricter.records[0].level == 1e-9 and stricter.records[0].own_alpha == 1e-9


def test_detector_efficiencies_are_the_ones_perceval_s_client_sets_from_the_per_mode_form():
    import perceval as pcvl
    from perceval.components import update_detectors_from_perfs

    perfs = {"Transmittance (%)": 40.0, simulate.PER_MODE_KEY: {simulate.OUT_KEY: [92.0, 80.5, 46.0, 69.0]}}
    detectors = [pcvl.Detector.threshold() for _ in range(4)]
    update_detectors_from_perfs(detectors, perfs)
    assert simulate.detector_efficiencies(perfs) == pytest.approx([d.efficiency for d in detectors])
    assert simulate.detector_efficiencies({"Transmittance (%)": 40.0}) is None
    with pytest.raises(simulate.PhysicsError, match="Transmission per mode"):
        simulate.detector_efficiencies({simulate.PER_MODE_KEY: {simulate.OUT_KEY: [90, "x"]}})


UNEQUAL = {simulate.PER_MODE_KEY: {simulate.OUT_KEY: [100.0, 90.0, 80.0, 95.0] + [100.0] * 8}}


def _naive_draw(payload: dict[str, Any], perfs: dict[str, Any], shots: int, seed: int) -> str:
    """One honest sample_count answer drawn from Perceval's Naive back-end (not the SLOS model the check uses)."""
    import numpy
    import perceval as pcvl

    details = default_platforms()["qpu:qa"].details()
    details["perfs"] = {**details["perfs"], **perfs}
    experiment = simulate.runs_of(payload)[0].experiment
    run = simulate.prepared(experiment, noise=simulate.noise_of_perfs(details["perfs"]), threshold=True,
                            efficiencies=simulate.detector_efficiencies(details["perfs"]))
    probs = {str(s): float(p) for s, p in pcvl.Processor("Naive", run).probs(precision=1e-14)["results"].items()
             if p > 0}
    weights = numpy.array(list(probs.values())) / sum(probs.values())
    counts = numpy.random.default_rng(seed).multinomial(shots, weights)
    return json.dumps({"results": wire.bscount({s: int(c) for s, c in zip(probs, counts) if c})})


@pytest.mark.parametrize("mode", range(4))
def test_unequal_detectors_advertised_as_they_are_pass_and_one_weaker_than_advertised_is_red(mode):
    payload, spec = CHECKS[f"detector_efficiency[{mode}]"]
    honest = _naive_draw(payload, UNEQUAL, 40_000, seed=mode)
    problems, report = datasheet.check_datasheet(honest, spec, "results", context_for(payload, **UNEQUAL))
    assert problems == [] and f"detector {mode} efficiency" in report and f"clicks of detector {mode}" in report
    weaker = [100.0, 90.0, 80.0, 95.0] + [100.0] * 8
    weaker[mode] *= 0.85
    drifted = _naive_draw(payload, {simulate.PER_MODE_KEY: {simulate.OUT_KEY: weaker}}, 40_000, seed=10 + mode)
    problems, _ = datasheet.check_datasheet(drifted, spec, "results", context_for(payload, **UNEQUAL))
    assert len(problems) == 1 and "OUTSIDE" in problems[0] and f"detector {mode} efficiency" in problems[0]


def test_a_detector_check_on_a_platform_without_the_per_mode_form_is_not_conclusive():
    payload, spec = CHECKS["detector_efficiency[0]"]
    context = context_for(payload)
    context.platform_details()["perfs"].pop(simulate.PER_MODE_KEY)
    problems, _ = datasheet.check_datasheet(json.dumps({"results": wire.bscount({"|1,0,0,0>": 9})}), spec, "results",
                                            context)
    assert len(problems) == 1 and getattr(problems[0], "is_inconclusive", False)
    assert "'Transmission per mode (%)'" in problems[0]


def test_a_detector_beyond_the_experiment_is_the_tests_mistake():
    payload, spec = CHECKS["detector_efficiency[0]"]
    problems, _ = datasheet.check_datasheet(json.dumps({"results": wire.bscount({"|1,0,0,0>": 9})}),
                                            {**spec, "mode": 7}, "results", context_for(payload))
    assert len(problems) == 1 and getattr(problems[0], "is_harness_problem", False)
    assert "mode 7 is not a mode of the experiment (it has 4)" in problems[0]
