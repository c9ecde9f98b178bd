"""The run's false-alarm budget (run/budget.py): the Bonferroni share, Holm's step-down, a worker's merge."""
from __future__ import annotations

import pytest

from pytest_cloudjob.run.budget import AlphaBudget, CheckResult


def result(name: str, p: float | None, level: float, own: float | None = None) -> CheckResult:
    return CheckResult(f"test_{name}", f"x.scenario.yaml:{len(name)} expect", p, level, own,
                       passed=p is None or p >= level)


def test_each_check_gets_alpha_over_m_and_without_a_budget_none():
    assert AlphaBudget(0.01, planned=4).level() == pytest.approx(0.0025)
    assert AlphaBudget(None, planned=4).level() is None
    assert "over its 4 statistical checks, Bonferroni" in AlphaBudget(0.01, planned=4).note()


def test_holm_rejects_step_down_including_a_check_that_passed_at_alpha_over_m():
    budget = AlphaBudget(0.01, planned=4)
    # alpha/m = 0.0025: a is red at run time; b passed (0.003 > 0.0025) but 0.003 <= 0.01/3: Holm rejects it too
    for name, p in (("a", 0.001), ("b", 0.003), ("c", 0.2), ("d", None)):
        budget.record(result(name, p, budget.level() or 0))
    assert [r.test for r in budget.holm()] == ["test_a", "test_b"]
    lines = budget.summary_lines()
    assert lines[0].startswith("statistical checks: FAILED, 4 counted at collection, 3 with a p-value")
    assert "Holm's step-down over the p-values: 2 rejected" in lines[0]
    assert "test_b (x.scenario.yaml:1 expect): p-value 0.003, passed at its level 0.0025 but rejected" in lines[2]
    assert budget.failures() == ["statistical checks: 2 rejected at the run level"]


def test_holm_stops_at_the_first_p_value_above_its_step_and_counts_unrun_checks():
    budget = AlphaBudget(0.01, planned=10)  # 10 counted, 2 ran: m stays 10
    budget.record(result("a", 0.0015, 0.001))
    budget.record(result("b", 0.0011, 0.001))
    assert budget.holm() == []  # 0.0011 > 0.01/10: nothing rejected, though 0.0011 <= 0.01/2
    assert budget.summary_lines() == [
        "statistical checks: 10 counted at collection, 2 with a p-value; run budget alpha=0.01 (--cloud-alpha), "
        "each tested at alpha/m=0.001 (Bonferroni; a scenario's own smaller alpha wins); Holm's step-down over "
        "the p-values: 0 rejected"]
    assert budget.failures() == []


def test_a_scenario_s_own_alpha_caps_what_holm_may_reject():
    budget = AlphaBudget(0.01, planned=2)
    budget.record(result("a", 1e-4, 1e-6, own=1e-6))  # passed at its own stricter alpha
    budget.record(result("bb", 0.004, 0.005))
    assert [r.test for r in budget.holm()] == ["test_bb"]  # a's step still counts: bb is tested at 0.01/1


def test_without_a_budget_the_summary_gives_the_union_bound_and_the_red_checks():
    budget = AlphaBudget(None, planned=2)
    budget.record(result("a", 0.5, 1e-6))
    budget.record(result("bb", 1e-9, 1e-6))
    assert [r.test for r in budget.holm()] == ["test_bb"]
    assert "each at its own alpha (no --cloud-alpha): the run's false-alarm probability is at most their sum " \
           "2e-06 (union bound); 1 rejected" in budget.summary_lines()[0]
    assert AlphaBudget(None).summary_lines() == []  # no check, no budget: no line


def test_a_worker_s_checks_reach_the_controller():
    worker = AlphaBudget(0.01, planned=3)
    worker.record(result("a", 0.5, 0.01 / 3))
    controller = AlphaBudget(0.01)
    controller.merge(worker.to_data())
    assert controller.planned == 3 and list(controller.results.values()) == list(worker.results.values())
