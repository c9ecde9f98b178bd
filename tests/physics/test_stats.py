"""The statistics of the distribution check: honest histograms pass, wrong ones fail, failures explain."""
from __future__ import annotations

import math
import random
from typing import Any

import pytest

from pytest_cloudjob.physics import stats


def draw(probs: dict[str, float], shots: int, rng: random.Random) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in rng.choices(list(probs), weights=list(probs.values()), k=shots):
        counts[state] = counts.get(state, 0) + 1
    return counts


def spread(k: int) -> dict[str, float]:
    """k outcomes with unequal probabilities, some of them rare (so pooling matters)."""
    weights = [1.0 / (i + 1) ** 1.5 for i in range(k)]
    return {f"|{i}>": w / sum(weights) for i, w in enumerate(weights)}


def test_honest_histograms_pass_far_more_often_than_alpha_says():
    rng = random.Random(7)
    reference = spread(30)
    failures = sum(not stats.compare(draw(reference, 500, rng), reference, alpha=0.1).passed for _ in range(200))
    assert failures <= 20  # the guarantee: at most alpha * runs in expectation (the bounds are conservative)


@pytest.mark.parametrize("shots", [1000, 10_000])
def test_a_distribution_at_tvd_0_2_is_caught_at_alpha_1e_6(shots):
    reference = spread(10)
    shifted = {s: 0.8 * p + (0.2 if s == "|9>" else 0.0) for s, p in reference.items()}
    verdict = stats.compare(draw(shifted, shots, random.Random(shots)), reference, alpha=1e-6)
    assert not verdict.passed
    assert verdict.tvd > verdict.tvd_threshold


def test_one_impossible_outcome_fails_through_the_per_outcome_bound():
    reference = {"|2,0>": 0.5, "|0,2>": 0.5}
    verdict = stats.compare({"|2,0>": 500, "|0,2>": 499, "|1,1>": 1}, reference, alpha=1e-6)
    assert not verdict.passed
    assert verdict.tvd <= verdict.tvd_threshold and math.isinf(verdict.chernoff)
    assert "|1,1>" in verdict.worst[0].state


def test_a_tolerance_lets_a_known_small_bias_through_and_not_a_large_one():
    reference = {"a": 0.5, "b": 0.5}
    biased = {"a": 5300, "b": 4700}  # TVD 0.03
    assert not stats.compare(biased, reference, alpha=1e-6).passed
    assert stats.compare(biased, reference, alpha=1e-6, tolerance=0.05).passed
    assert not stats.compare({"a": 7000, "b": 3000}, reference, alpha=1e-6, tolerance=0.05).passed


def test_bins_are_fixed_by_the_reference_rare_and_unexpected_outcomes_pooled():
    reference = {"a": 0.9, "b": 0.099, "c": 0.001}
    assert stats.bins_of(reference, 100) == {"a": "a", "b": "b", "c": stats.POOLED}
    tvd, bins = stats.binned_tvd({"a": 90, "b": 9, "zzz": 1}, reference, 100)
    assert bins == 3 and tvd == pytest.approx(0.5 * (0.0 + 0.009 + 0.009))


def test_the_failure_explains_tvd_threshold_shots_worst_outcomes_and_g_pvalue():
    verdict = stats.compare({"a": 900, "b": 100}, {"a": 0.5, "b": 0.5}, alpha=1e-6)
    text = verdict.explain()
    for piece in ("does NOT match", "TVD 0.4000", "threshold", "1000 shots", "a 500.0 vs 900", "b 500.0 vs 100",
                  "G-test p-value"):
        assert piece in text, text


def test_thresholds_follow_the_formulas_of_docs_physics():
    verdict = stats.compare({"a": 500, "b": 500}, {"a": 0.5, "b": 0.5}, alpha=1e-3)
    bins = 3  # a, b and the (empty) pool
    assert verdict.tvd_threshold == pytest.approx(math.sqrt((bins * math.log(2) + math.log(2 / 1e-3)) / 2000))
    assert verdict.chernoff_threshold == pytest.approx(math.log(4 * 3 / 1e-3))  # 2 outcomes + the unexpected one


# values from scipy.stats.chi2.sf (scipy is not a dependency: the stdlib gamma function does it)
@pytest.mark.parametrize(("x", "dof", "p"), [(3.841458820694124, 1, 0.05), (18.307038053275146, 10, 0.05),
                                             (2.0, 2, math.exp(-1)), (150.0, 100, 0.00090393204),
                                             (50.0, 20, 0.00022147664), (1e-3, 3, 0.99999159208)])
def test_chi2_survival_function_matches_scipy(x, dof, p):
    assert stats.chi2_sf(x, dof) == pytest.approx(p, rel=1e-8)


def test_bernoulli_kl_and_its_edges():
    assert stats.bernoulli_kl(0.5, 0.5) == 0.0
    assert stats.bernoulli_kl(0.1, 0.0) == math.inf
    assert stats.bernoulli_kl(0.0, 0.2) == pytest.approx(-math.log(0.8))
    assert stats.kl_to_interval(0.3, 0.2, 0.4) == 0.0


def test_shots_for_a_sensitivity_grow_as_one_over_tvd_squared():
    assert stats.shots_for(0.1, 10) * 4 == pytest.approx(stats.shots_for(0.05, 10), rel=1e-3)
    with pytest.raises(ValueError, match="never detected"):
        stats.shots_for(0.01, 10, tolerance=0.02)


@pytest.mark.parametrize(("counts", "expected", "kwargs", "message"), [
    ({"a": 1}, {"a": 1.0}, {"alpha": 0.0}, "alpha"),
    ({"a": 1}, {"a": 1.0}, {"tolerance": -0.1}, "tolerance"),
    ({}, {"a": 1.0}, {}, "no shots"),
    ({"a": 1}, {"a": 0.0}, {}, "empty"),
])
def test_bad_arguments_are_named(counts, expected, kwargs, message):
    with pytest.raises(ValueError, match=message):
        stats.compare(counts, expected, **kwargs)


def test_the_p_value_is_the_smallest_alpha_at_which_the_check_fails():
    """A run's budget (docs/physics.md) relies on it: the verdict at any alpha is `p_value < alpha`."""
    rng = random.Random(11)
    reference = spread(12)
    shifted = {s: p * (1.3 if i % 2 else 0.7) for i, (s, p) in enumerate(reference.items())}
    for probs, shots in ((reference, 300), (shifted, 300), (shifted, 3000), (reference, 5000)):
        counts = draw(probs, shots, rng)
        p_value = stats.compare(counts, reference).p_value
        assert 0.0 <= p_value <= 1.0
        for alpha in (1e-9, 1e-6, 1e-3, 0.05, 0.5):
            if not math.isclose(p_value, alpha, rel_tol=1e-9):
                assert stats.compare(counts, reference, alpha=alpha).passed == (p_value >= alpha), (p_value, alpha)
    assert stats.compare({"a": 10, "zzz": 1}, {"a": 1.0}).p_value == 0.0  # an impossible outcome seen


def _both_ways(counts: dict[str, int], reference: dict[str, float], **kwargs: Any) -> tuple[stats.Verdict, ...]:
    return tuple(stats.compare(counts, reference, diagnostic=True, vectorise=way, **kwargs) for way in (False, True))


@pytest.mark.parametrize("case", range(12))
def test_the_vectorised_sums_give_the_verdict_and_the_numbers_of_the_plain_ones(case):
    """A large reference is summed with numpy (docs/physics.md): the same bins, statistics, worst outcomes and
    verdict as the standard library's loop, on honest, shifted, impossible-outcome and tolerant histograms."""
    pytest.importorskip("numpy")
    rng = random.Random(case)
    reference = spread(rng.choice([3, 40, 300]))
    reference["|never>"] = 0.0  # listed with probability 0: an unexpected outcome, as one not listed
    truth = dict(reference)
    if case % 3 == 1:  # a departure the check catches at these shots
        truth = {s: p * (1.6 if i % 2 else 0.4) for i, (s, p) in enumerate(reference.items())}
    counts = draw({s: p for s, p in truth.items() if p > 0}, rng.choice([50, 2000, 20_000]), rng)
    if case % 4 == 2:
        counts["|never>"] = 1
        counts["|unlisted>"] = 2
    kwargs = {"alpha": rng.choice([1e-6, 0.05]), "tolerance": rng.choice([0.0, 0.0, 0.02]),
              "unlisted": rng.choice([0.0, 1e-4])}
    plain, vectorised = _both_ways(counts, reference, **kwargs)
    assert vectorised.passed == plain.passed
    assert (vectorised.bins, vectorised.shots, vectorised.chernoff_threshold) == \
        (plain.bins, plain.shots, plain.chernoff_threshold)
    for name in ("tvd", "tvd_threshold", "chernoff", "p_value", "g_pvalue"):
        assert getattr(vectorised, name) == pytest.approx(getattr(plain, name), rel=1e-9, abs=1e-12), name
    assert [(o.state, o.seen) for o in vectorised.worst] == [(o.state, o.seen) for o in plain.worst]
    assert [o.statistic for o in vectorised.worst] == pytest.approx([o.statistic for o in plain.worst], rel=1e-9)
    assert vectorised.explain() == plain.explain()  # the same text a reader sees


def test_the_diagnostic_g_test_is_computed_for_a_failure_only_unless_asked():
    reference = {"a": 0.5, "b": 0.5}
    assert stats.compare({"a": 500, "b": 500}, reference).g_pvalue is None
    assert "G-test" not in stats.compare({"a": 500, "b": 500}, reference).explain()
    assert stats.compare({"a": 500, "b": 500}, reference, diagnostic=True).g_pvalue == pytest.approx(1.0)
    assert stats.compare({"a": 900, "b": 100}, reference).g_pvalue == pytest.approx(0.0, abs=1e-12)
