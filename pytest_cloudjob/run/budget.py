"""The run's false-alarm budget: one alpha (``--cloud-alpha``) shared by every statistical check of the run.

The number of checks m is counted at collection (the ``distribution`` matchers of the collected
scenarios, per platform), so each check can be tested at run time, alone and in any xdist worker, at
the Bonferroni share alpha/m. Each records its p-value here; at the end the summary applies Holm's
step-down to the recorded p-values: sorted p(1) <= ... <= p(m), reject while p(i) <= alpha/(m - i + 1).
Every check red at alpha/m is rejected by Holm too, and the family-wise false-alarm probability of the
whole run (red checks and the run-level verdict together) is at most alpha, whatever the dependence
between the checks (docs/physics.md). Plain data, so workers send theirs to the controller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One statistical check of the run: where it is, its p-value (``None``: not conclusive), the level it
    was tested at, the scenario's own alpha (``None``: not given), and whether it was red; its platform, and
    the figure a ``datasheet`` check estimated (``None`` otherwise), for the run's per-platform figures."""

    test: str
    where: str
    p_value: float | None
    level: float
    own_alpha: float | None
    passed: bool
    platform: str = ""
    figure: dict[str, Any] | None = None


@dataclass
class AlphaBudget:
    """The budget (``alpha``; ``None``: each check at its own alpha), the checks counted at collection
    (``planned``), and what each check found, keyed by test and step."""

    alpha: float | None = None
    planned: int = 0
    results: dict[str, CheckResult] = field(default_factory=dict)

    def level(self) -> float | None:
        """The share each check is tested at: alpha/m (Bonferroni), or ``None`` without a budget."""
        return None if self.alpha is None else self.alpha / max(self.planned, 1)

    def note(self) -> str:
        """How the share was chosen, for a failure text."""
        if self.alpha is None:
            return ""
        return f"the run's --cloud-alpha {self.alpha:g} over its {max(self.planned, 1)} statistical checks, Bonferroni"

    def record(self, result: CheckResult) -> None:
        """Keep ``result``; a step repeated (``eventually``) keeps its last attempt."""
        self.results[f"{result.test}::{result.where}"] = result

    def to_data(self) -> dict[str, Any]:
        return {"planned": self.planned, "results": [vars(r) for r in self.results.values()]}

    def merge(self, data: dict[str, Any]) -> None:
        """A worker's checks; every worker counts the same collection, so ``planned`` is any worker's."""
        self.planned = max(self.planned, int(data.get("planned", 0)))
        for item in data.get("results", []):
            self.record(CheckResult(**item))

    def holm(self) -> list[CheckResult]:
        """The checks Holm's step-down rejects at the run's alpha over m = max(planned, recorded) p-values
        (a check counted but not run, or not conclusive, counts as p = 1). A check with its own alpha is
        rejected only if its p-value is also at most that alpha: a subset of Holm's rejections, still valid."""
        if self.alpha is None:
            return [r for r in self.results.values() if not r.passed]
        ranked = sorted((r for r in self.results.values() if r.p_value is not None), key=lambda r: r.p_value or 0.0)
        m = max(self.planned, len(self.results))
        rejected = []
        for i, result in enumerate(ranked):
            assert result.p_value is not None
            if result.p_value > self.alpha / (m - i):
                break
            if result.own_alpha is None or result.p_value <= result.own_alpha or not result.passed:
                rejected.append(result)
        return rejected

    def summary_lines(self) -> list[str]:
        """What the summary says: how many checks, the budget, how many rejected (and which)."""
        if self.alpha is None and not self.planned and not self.results:
            return []
        ran = sum(r.p_value is not None for r in self.results.values())
        counted = f"statistical checks: {self.planned} counted at collection, {ran} with a p-value"
        rejected = self.holm()
        if self.alpha is None:
            total = sum(r.level for r in self.results.values())
            head = (f"{counted}; each at its own alpha (no --cloud-alpha): the run's false-alarm probability is at "
                    f"most their sum {total:.3g} (union bound); {len(rejected)} rejected")
        else:
            head = (f"{counted}; run budget alpha={self.alpha:g} (--cloud-alpha), each tested at alpha/m="
                    f"{self.alpha / max(self.planned, 1):.3g} (Bonferroni; a scenario's own smaller alpha wins); "
                    f"Holm's step-down over the p-values: {len(rejected)} rejected")
        if not rejected:
            return [head]
        lines = [f"statistical checks: FAILED, {head.removeprefix('statistical checks: ')}:"]
        for r in rejected:
            extra = "" if not r.passed else f", passed at its level {r.level:.3g} but rejected by Holm's step-down"
            p_text = "-" if r.p_value is None else f"{r.p_value:.3g}"
            lines.append(f"  {r.test} ({r.where}): p-value {p_text}{extra}")
        return lines

    def failures(self) -> list[str]:
        """Why the run fails: a check that Holm rejects (a red check, or one passed at alpha/m)."""
        rejected = self.holm()
        return [f"statistical checks: {len(rejected)} rejected at the run level"] if rejected else []
