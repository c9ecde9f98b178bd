"""Verdicts that hold on a real photonic QPU (issue 20): a reference at converged precision with every
outcome that can happen, the platform's detectors and Perceval's shots honoured, and a reference cloud
whose ``qpu:qa`` behaves as such a QPU does (no vacuum, no ``probs``, g2 > 0, threshold detectors)."""
from __future__ import annotations

import json

import pytest
from physics_jobs import create, experiment, haar, heralded, hom, lossy, pcvl, platform_details, submit, v1

from pytest_cloudjob.physics import distribution, simulate, stats, wire
from pytest_cloudjob.scenarios import matchers

G2_PERFS = {"Transmittance (%)": 50.0, "HOM (%)": 92.0, "g2 (%)": 2.0}


def test_an_unlisted_outcome_seen_once_is_not_impossible_when_the_reference_is_truncated():
    reference = {"|1,0>": 0.5, "|0,1>": 0.5}
    counts = {"|1,0>": 5000, "|0,1>": 4999, "|1,1>": 1}  # a two-photon event the truncation left out
    assert not stats.compare(counts, reference, alpha=1e-6).passed  # an exact reference: impossible, red
    verdict = stats.compare(counts, reference, alpha=1e-6, unlisted=1e-5)
    assert verdict.passed, verdict.explain()
    assert "unlisted reference mass" in verdict.explain()
    # the unlisted mass is a bound, not a licence: many unlisted events stay red
    assert not stats.compare({"|1,0>": 4900, "|0,1>": 4900, "|1,1>": 200}, reference, alpha=1e-6, unlisted=1e-5).passed


def test_the_reference_at_g2_lists_the_outcomes_perceval_default_precision_leaves_out():
    noise = simulate.noise_of_perfs(G2_PERFS)
    reference = simulate.exact(experiment(haar), noise=noise)
    default = simulate.probs_at(simulate.prepared(experiment(haar), noise=noise), None)
    missing = [s for s in reference.probs if s not in default]
    assert missing and not [s for s in default if default[s] > 0 and s not in reference.probs]
    assert 0 < reference.unlisted < 1e-5  # what the converged reference may still leave out, bounded
    assert sum(reference.probs[s] for s in missing) > reference.unlisted  # the default leaves out far more


def test_probs_at_perceval_default_precision_pass_and_a_real_error_does_not():
    payload = v1(haar, command="probs")
    context = distribution.DistributionContext(payload, lambda: {"perfs": G2_PERFS})
    answer = simulate.probs_at(simulate.prepared(experiment(haar), noise=simulate.noise_of_perfs(G2_PERFS)), None)
    text = json.dumps({"results": wire.bsdistribution(answer)})
    assert distribution.check_distribution(text, {"reference": "noisy"}, "results", context) == []
    wrong = dict(answer)
    first, second = list(wrong)[:2]
    wrong[first], wrong[second] = wrong[first] - 1e-3, wrong[second] + 1e-3
    problems = distribution.check_distribution(json.dumps({"results": wire.bsdistribution(wrong)}),
                                               {"reference": "noisy"}, "results", context)
    assert problems and "Perceval's own precision" in problems[0]


def test_the_reference_honours_threshold_detectors_and_never_lists_the_vacuum():
    details = {"perfs": G2_PERFS, "specs": {"detector": "threshold"}}
    context = distribution.DistributionContext(v1(lossy), lambda: details)
    reference = distribution._references("noisy", 1, context)[0]
    occupations = [[int(x) for x in s.strip("|>").split(",")] for s in reference.probs]
    assert occupations and all(max(o) <= 1 for o in occupations)  # a threshold detector clicks or not
    assert all(sum(o) >= 1 for o in occupations)  # a shot is an event with at least one photon


def test_empty_results_of_a_legal_postselection_are_not_conclusive_and_unlikely_ones_are_red():
    context = distribution.DistributionContext(v1(heralded, shots=10), lambda: {"perfs": G2_PERFS})
    empty = json.dumps({"results": wire.bscount({})})
    problems = distribution.check_distribution(empty, {"reference": "noisy"}, "results", context)
    assert len(problems) == 1 and getattr(problems[0], "is_inconclusive", False), problems
    with pytest.raises(distribution.DistributionInconclusive, match="not conclusive"):
        distribution.assert_distribution(empty, "noisy", context=context)
    with pytest.raises(pytest.skip.Exception, match="not conclusive"):  # a scenario step: skipped, never red
        matchers.check(empty, {"distribution": {"reference": "noisy"}}, "results", context)
    many = distribution.DistributionContext(v1(hom, shots=10_000), lambda: {"perfs": G2_PERFS})
    with pytest.raises(distribution.DistributionMismatch, match="the results are empty"):
        distribution.assert_distribution(empty, "noisy", context=many)


def test_qpu_qa_advertises_what_a_photonic_qpu_is(physics_cloud):
    details = platform_details(physics_cloud, "qpu:qa")
    assert "probs" not in details["specs"]["available_commands"]
    assert details["specs"]["detector"] == "threshold"
    assert details["perfs"]["g2 (%)"] > 0
    answer = create(physics_cloud, v1(haar, command="probs"), "qpu:qa")
    assert answer.status_code == 400 and "'probs'" in answer.text and "available_commands" in answer.text
    ideal = platform_details(physics_cloud, "sim:qa")
    assert "probs" in ideal["specs"]["available_commands"] and ideal["perfs"]["g2 (%)"] == 0


def one_photon(target):
    target.set_circuit(pcvl.BS())
    target.with_input(pcvl.BasicState([1, 0]))
    target.min_detected_photons_filter(1)
    return target


def test_qpu_qa_counts_shots_as_perceval_does(physics_cloud):
    """A shot is an event with at least one photon: a 1-photon job with filter 1 keeps every shot (the
    reference cloud once kept Binomial(shots, T) of them: 1959 of 4000)."""
    text, _ = submit(physics_cloud, v1(one_photon, shots=4000), platform="qpu:qa")
    assert sum(wire.parse_results(json.loads(text)["results"]).values.values()) == 4000
    text, context = submit(physics_cloud, v1(lossy, shots=4000), platform="qpu:qa")
    counts = wire.parse_results(json.loads(text)["results"]).values
    assert "|0,0,0>" not in counts and sum(counts.values()) == 4000
    distribution.assert_distribution(text, "noisy", context=context)
    text, _ = submit(physics_cloud, v1(haar, shots=4000), platform="qpu:qa")
    assert 0 < sum(wire.parse_results(json.loads(text)["results"]).values.values()) < 4000  # filter 3: fewer
