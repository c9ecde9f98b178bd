"""The acceptance check (issue 20 item 5, [P-results-6]): the reported physical_perf agrees with the samples kept
of the shots. Green on honest Binomial draws and on the honest reference cloud on both platforms, red on a wrong
physical_perf (``--break physical-perf-wrong`` on qpu:qa alone), not conclusive where the results cannot say,
and a wrong spec is the scenario's mistake, said with its file and line when the file loads."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy
import pytest
from physics_jobs import shipped_checks, submit

from pytest_cloudjob.physics import acceptance, wire
from pytest_cloudjob.physics.distribution import DistributionContext
from pytest_cloudjob.server.defects import CATALOGUE, PERF_REPORTED_FACTOR
from pytest_cloudjob.server.platforms import default_platforms

HERALDED = "heralds and postselection are applied"
LOSS = "photon loss follows Binomial(n, T) of the advertised transmittance"


def payload_of(name: str, **changes: Any) -> dict[str, Any]:
    return {**shipped_checks()[name].payload, **changes}


def context_for(payload: dict[str, Any], platform: str = "qpu:qa", **perfs: float) -> DistributionContext:
    details = default_platforms()[platform].details()
    details["perfs"] = {**details["perfs"], **perfs}
    return DistributionContext(payload, lambda: details)


def text_of(kept: int, physical_perf: Any = None, **extra: Any) -> str:
    body: dict[str, Any] = {"results": wire.bscount({"|1,1,0>": kept} if kept else {}), "logical_perf": 1.0, **extra}
    if physical_perf is not None:
        body["physical_perf"] = physical_perf
    return json.dumps(body)


def vacuum_of(payload: dict[str, Any], platform: str = "qpu:qa") -> float:
    """The source's vacuum probability over the whole input, by Perceval (not the check's mode-by-mode product)."""
    import perceval as pcvl

    from pytest_cloudjob.physics import simulate

    details = default_platforms()[platform].details()
    experiment = simulate.runs_of(payload)[0].experiment
    source = pcvl.Source.from_noise_model(simulate.noise_of_perfs(details["perfs"]))
    return sum(float(p) for s, p in source.generate_distribution(experiment.input_state).items() if max(s.n) == 0)


def test_the_defect_is_a_physics_defect_of_the_promise():
    defect = CATALOGUE["physical-perf-wrong"]
    assert defect.physics and "[P-results-6]" in defect.row


@pytest.mark.parametrize("platform", ["sim:qa", "qpu:qa"])
def test_green_on_honest_binomial_draws_and_red_on_a_wrong_physical_perf(platform):
    payload = payload_of(HERALDED)
    vacuum = vacuum_of(payload, platform)
    q = 0.136 if platform == "sim:qa" else 0.0556  # the post-selection keeps about that on each
    perf = q * (1 - vacuum)
    generator = numpy.random.default_rng(5)
    context = context_for(payload, platform)
    context.run_level = 1e-2
    honest = [acceptance.check_acceptance(text_of(int(k), perf), {}, "results", context)[0]
              for k in generator.binomial(10_000, q, size=200)]
    assert sum(bool(p) for p in honest) <= 6, [p for p in honest if p]  # about 2 expected at alpha 1e-2
    assert len(context.records) == 200 and all(r.level == 1e-2 and r.p_value is not None for r in context.records)
    kept = int(generator.binomial(10_000, q))
    problems, report = acceptance.check_acceptance(text_of(kept, perf / 2), {}, "results", context_for(payload, platform))
    assert len(problems) == 1 and report in problems[0]
    for words in (f"{kept} of 10000 shots kept", "do NOT agree with physical_perf", "p-value", "at alpha 1e-06",
                  "Clopper-Pearson interval", "P(vacuum)"):
        assert words in problems[0], problems[0]


def test_every_shot_kept_contradicts_a_perf_that_promises_fewer():
    payload = payload_of(LOSS)  # three photons, a filter of one: every shot is a sample
    vacuum = vacuum_of(payload)
    problems, _ = acceptance.check_acceptance(text_of(10_000, 1 - vacuum), {}, "results", context_for(payload))
    assert problems == []
    problems, _ = acceptance.check_acceptance(text_of(10_000, (1 - vacuum) * PERF_REPORTED_FACTOR), {}, "results",
                                              context_for(payload))
    assert len(problems) == 1 and "p-value 0 " in problems[0], problems


def test_a_device_within_the_transmittance_margin_is_green_and_a_margin_of_zero_is_exact():
    payload = payload_of(LOSS)
    device = 1 - (1 - 0.46 * 0.99) ** 3  # about the perf a device at T = 0.46 reports (every shot kept)
    assert acceptance.check_acceptance(text_of(10_000, device), {}, "results", context_for(payload))[0] == []
    problems, _ = acceptance.check_acceptance(text_of(10_000, device), {"margin": 0}, "results", context_for(payload))
    assert len(problems) == 1 and "transmittance" not in problems[0], problems


def test_a_perf_above_every_event_with_a_photon_is_red():
    payload = payload_of(LOSS)
    problems, _ = acceptance.check_acceptance(text_of(10_000, 1.0), {}, "results", context_for(payload))
    assert len(problems) == 1 and "promises more samples than shots" in problems[0], problems
    problems, _ = acceptance.check_acceptance(text_of(10_000, "high"), {}, "results", context_for(payload))
    assert len(problems) == 1 and "not a probability" in problems[0], problems
    problems, _ = acceptance.check_acceptance(text_of(10_001, 0.8), {}, "results", context_for(payload))
    assert len(problems) == 1 and "more samples than shots" in problems[0], problems


@pytest.mark.parametrize(("text", "payload", "words"), [
    (text_of(500), {}, "no physical_perf"),
    (json.dumps({"results": ":PCVL:BSDistribution:{|1,1,0>=1}", "physical_perf": 0.5}), {}, "probabilities"),
    (text_of(100, 0.5), {"max_samples": 100}, "reached max_samples 100"),
    (text_of(100, 0.5), {"max_shots": None, "max_samples": 1000}, "no max_shots"),
])
def test_what_the_results_cannot_say_is_not_conclusive(text, payload, words):
    context = context_for(payload_of(HERALDED, **payload))
    problems, _ = acceptance.check_acceptance(text, {}, "results", context)
    assert len(problems) == 1 and getattr(problems[0], "is_inconclusive", False) and words in problems[0], problems
    assert context.records[0].p_value is None and context.records[0].passed


def test_a_noisy_platform_that_does_not_advertise_its_transmittance_is_not_conclusive():
    payload = payload_of(LOSS)
    details = default_platforms()["qpu:qa"].details()
    details["perfs"] = {k: v for k, v in details["perfs"].items() if k != "Transmittance (%)"}
    problems, _ = acceptance.check_acceptance(text_of(10_000, 0.5), {}, "results",
                                              DistributionContext(payload, lambda: details))
    assert len(problems) == 1 and getattr(problems[0], "is_inconclusive", False) and "Transmittance" in problems[0]


@pytest.mark.parametrize(("spec", "words"), [
    ({"alpha": 0}, "alpha must be a number strictly between 0 and 1"),
    ({"margin": 1.5}, "margin must be a number in [0, 1)"),
    ({"tolerance": 0}, "unknown key 'tolerance'"),
    ("yes", "expected a mapping"),
])
def test_a_wrong_spec_is_said(spec, words):
    problems = acceptance.validate_acceptance_spec(spec)
    assert len(problems) == 1 and words in problems[0], problems


def test_a_wrong_spec_is_said_with_its_file_and_line_when_the_file_loads(tmp_path: Path):
    from pytest_cloudjob.scenarios.loader import ScenarioFormatError, load_documents
    from pytest_cloudjob.scenarios.model import parse_scenario

    path = tmp_path / "x.scenario.yaml"
    path.write_text(textwrap.dedent("""\
        name: acceptance
        steps:
          - create: {payload: {command: sample_count, max_shots: 100}, save: job}
          - wait: {job: job, until: completed, timeout: 60s}
          - results:
              job: job
              expect:
                results: {acceptance: {alpha: 2}}
        """))
    with pytest.raises(ScenarioFormatError) as info:
        [parse_scenario(doc, path, i) for i, doc in enumerate(load_documents(path))]
    assert f"{path}:8" in str(info.value) and "acceptance: alpha must be" in str(info.value), str(info.value)


@pytest.mark.parametrize("name", [HERALDED, LOSS])
@pytest.mark.parametrize("platform", ["sim:qa", "qpu:qa"])
def test_green_on_the_honest_cloud(physics_cloud, name, platform):
    text, context = submit(physics_cloud, payload_of(name), platform=platform)
    problems, report = acceptance.check_acceptance(text, {}, "results", context)
    assert problems == [] and " agree with physical_perf" in report, problems or report


def test_physical_perf_wrong_is_caught_on_qpu_qa_alone(broken_cloud):
    text, context = submit(broken_cloud("physical-perf-wrong"), payload_of(LOSS), platform="qpu:qa")
    problems, _ = acceptance.check_acceptance(text, {}, "results", context)
    assert len(problems) == 1 and "do NOT agree with physical_perf" in problems[0], problems


def test_in_a_spec_not_conclusive_skips_the_step_unless_another_check_is_red():
    from pytest_cloudjob.scenarios.matchers import check

    context = context_for(payload_of(LOSS))
    with pytest.raises(pytest.skip.Exception, match="not conclusive: acceptance: the results report no physical_perf"):
        check(text_of(10_000), {"acceptance": {}}, "results", context)
    problems = check(text_of(10_000), {"acceptance": {}, "regex": "^never$"}, "results", context)
    assert len(problems) == 2 and any("expected to match" in p for p in problems), problems


def test_a_batch_is_checked_run_by_run_at_a_shared_level(physics_cloud, broken_cloud):
    payload = payload_of(LOSS, iterator=[{"max_shots": 2000}, {"max_shots": 3000}])
    text, context = submit(physics_cloud, payload, platform="qpu:qa")
    problems, report = acceptance.check_acceptance(text, {}, "results", context)
    assert problems == [] and report.count("results_list[") == 2 and "2000 of 2000 shots kept" in report, report
    assert "at alpha 5e-07" in report and context.records[0].level == 1e-6, report
    text, context = submit(broken_cloud("physical-perf-wrong"), payload, platform="qpu:qa")
    problems, _ = acceptance.check_acceptance(text, {}, "results", context)
    assert [p.split(":")[0] for p in problems] == ["results.results_list[0]", "results.results_list[1]"], problems
    record = context.records[0]
    assert record.p_value is not None and record.p_value < 1e-100 and not record.passed


def test_without_perceval_a_scenario_with_an_acceptance_check_is_skipped_with_the_reason(tmp_path: Path, monkeypatch):
    from pytest_cloudjob.physics import simulate
    from pytest_cloudjob.scenarios.collect import _statistical, physics_unavailable
    from pytest_cloudjob.scenarios.loader import load_documents
    from pytest_cloudjob.scenarios.model import parse_scenario

    path = tmp_path / "x.scenario.yaml"
    path.write_text(textwrap.dedent("""\
        name: acceptance of the default experiment
        steps:
          - create: {payload: {command: sample_count, max_shots: 100}, save: job}
          - wait: {job: job, until: completed, timeout: 60s}
          - results: {job: job, expect: {results: {acceptance: {margin: 0.02}}}}
        """))
    scenario = parse_scenario(load_documents(path)[0], path, 0)
    assert [name for step in scenario.steps for name, _ in _statistical(step.args.get("expect"))] == ["acceptance"]
    assert physics_unavailable(scenario) is None
    monkeypatch.setattr(simulate, "unavailable_reason", lambda: "Perceval is not installed")
    assert physics_unavailable(scenario) == "an acceptance check needs Perceval: Perceval is not installed"
