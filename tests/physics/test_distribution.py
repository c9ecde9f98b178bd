"""The distribution check as the scenario language and Python tests call it (inline references: no Perceval)."""
from __future__ import annotations

import json

import pytest

from pytest_cloudjob.physics import distribution
from pytest_cloudjob.physics.distribution import DistributionMismatch, assert_distribution, check_distribution

HOM = {"|2,0>": 0.5, "|0,2>": 0.5}


def results_text(value, **extra):
    return json.dumps({"results": value, "physical_perf": 1.0, "logical_perf": 1.0, **extra})


@pytest.mark.parametrize(("spec", "problem"), [
    ({"reference": "ideal"}, None),
    ({"reference": "noisy", "alpha": 0.01, "tolerance": 0.02}, None),
    ({"reference": HOM}, None),
    ("ideal", "expected a mapping"),
    ({}, "'reference' is required"),
    ({"reference": "perfect"}, "is not ideal, noisy"),
    ({"reference": 3}, "must be ideal, noisy or a mapping"),
    ({"reference": {}}, "inline reference is empty"),
    ({"reference": {"|1,0>": -1}}, "must be a number >= 0"),
    ({"reference": {"|1,0>": 0}}, "sum to 0"),
    ({"reference": "ideal", "alpha": 1}, "alpha must be"),
    ({"reference": "ideal", "alpha": True}, "alpha must be"),
    ({"reference": "ideal", "tolerance": -0.1}, "tolerance must be"),
    ({"reference": "ideal", "shots": 5}, "unknown key 'shots'"),
])
def test_specs_are_checked_at_load_time(spec, problem):
    problems = distribution.validate_distribution_spec(spec)
    assert (problems == []) if problem is None else any(problem in p for p in problems), problems


def test_honest_counts_pass_and_coincidences_fail_with_the_evidence():
    assert check_distribution(results_text(":PCVL:BSCount:{|2,0>=4990;|0,2>=5010}"), {"reference": HOM}, "results", None) == []
    problems = check_distribution(results_text(":PCVL:BSCount:{|2,0>=4000;|1,1>=2000;|0,2>=4000}"),
                                  {"reference": HOM, "alpha": 1e-6}, "step 3 results", None)
    assert len(problems) == 1 and problems[0].startswith("step 3 results: distribution does NOT match")
    assert "|1,1>" in problems[0] and "10000 shots" in problems[0]


def test_samples_and_plain_mappings_are_histograms_too():
    samples = ":PCVL:BSSamples:|2,0>;|0,2>/" + ";".join("01"[i % 2] for i in range(1000))
    assert check_distribution(results_text(samples), {"reference": HOM}, "r", None) == []
    assert check_distribution({"results": {"|2,0>": 480, "|0,2>": 520}}, {"reference": HOM}, "r", None) == []


def test_probabilities_must_match_within_the_tolerance():
    assert check_distribution(results_text(":PCVL:BSDistribution:{|2,0>=0.5;|0,2>=0.5}"), {"reference": HOM}, "r", None) == []
    problems = check_distribution(results_text(":PCVL:BSDistribution:{|2,0>=0.6;|0,2>=0.4}"), {"reference": HOM}, "r", None)
    assert problems and "TVD 0.100000" in problems[0]
    assert check_distribution(results_text(":PCVL:BSDistribution:{|2,0>=0.6;|0,2>=0.4}"),
                              {"reference": HOM, "tolerance": 0.1}, "r", None) == []


def test_a_batch_is_checked_run_by_run_with_alpha_shared():
    good, bad = ":PCVL:BSCount:{|2,0>=500;|0,2>=500}", ":PCVL:BSCount:{|2,0>=900;|0,2>=100}"
    text = json.dumps({"results_list": [{"results": good, "iteration": {}}, {"results": bad, "iteration": {}}]})
    problems = check_distribution(text, {"reference": HOM}, "r", None)
    assert len(problems) == 1 and problems[0].startswith("r.results_list[1]:")


@pytest.mark.parametrize(("actual", "message"), [
    ("not json", "not JSON"),
    (json.dumps([1]), "not an object"),
    (json.dumps({"physical_perf": 1}), "no 'results' nor 'results_list'"),
    (results_text(":PCVL:BSCount:{}"), "results are empty"),
    (None, "expected the results JSON text"),
])
def test_unreadable_results_are_a_failure_that_says_why(actual, message):
    problems = check_distribution(actual, {"reference": HOM}, "r", None)
    assert len(problems) == 1 and message in problems[0], problems


def test_a_computed_reference_needs_the_job():
    problems = check_distribution(results_text(":PCVL:BSCount:{|2,0>=5}"), {"reference": "ideal"}, "r", None)
    assert problems and "no job was given" in problems[0]


def test_python_helper_raises_with_the_whole_explanation():
    assert_distribution(results_text({"|2,0>": 50, "|0,2>": 50}), HOM)
    with pytest.raises(DistributionMismatch, match=r"(?s)does NOT match.*worst outcomes") as caught:
        assert_distribution(results_text({"|2,0>": 90, "|0,2>": 10}), HOM, alpha=1e-3)
    assert isinstance(caught.value, AssertionError)
