"""Does a cloud's histogram come from the distribution it should? A test with a guaranteed false-alarm rate.

Asymptotic χ² and G tests are too liberal at small alpha with small expected counts (issue 16 measured
9-24x), so a red test would sometimes blame an honest cloud. Two non-asymptotic bounds hold for every
number of shots instead, each given half of ``alpha`` (Bonferroni), so P(false alarm) <= alpha:

- TVD with the Bretagnolle-Huber-Carol bound: with ``k`` bins fixed from the *expected* distribution
  (outcomes with n*p < 5 pooled in one bin), P(TVD(p_hat, p) >= eps) <= 2^k exp(-2 n eps^2); reject when
  the binned TVD exceeds ``tolerance + sqrt((k ln 2 + ln(2/alpha)) / (2n))``.
- per-outcome Chernoff: P(n kl(p_hat_i || p_i) >= t) <= 2 exp(-t) for each outcome; with a union over the
  ``m`` outcomes, reject when max_i n kl(p_hat_i || p_i) >= ln(4m/alpha). It catches one badly wrong
  outcome (an impossible state seen, a missing peak) that the TVD spreads thin.

Both bounds give a valid p-value (the smallest ``alpha`` at which the verdict would fail), kept in
:attr:`Verdict.p_value` for a run-level budget (Holm's step-down over the run's checks, docs/physics.md).
The G-test p-value is printed as a diagnostic only: it decides nothing. Standard library only.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

POOL_BELOW = 5.0  # expected count under which outcomes share one bin
UNEXPECTED = "<outcomes with expected probability 0>"
POOLED = "<pooled rare outcomes>"


@dataclass(frozen=True)
class Outcome:
    """One outcome's evidence: its expected and seen counts and its Chernoff statistic n*kl."""

    state: str
    expected: float
    seen: int
    statistic: float


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`compare`: ``passed`` and everything a reader needs to judge it."""

    passed: bool
    shots: int
    alpha: float
    tolerance: float
    tvd: float
    tvd_threshold: float
    bins: int
    chernoff: float
    chernoff_threshold: float
    g_pvalue: float
    worst: tuple[Outcome, ...] = field(default=())
    unlisted: float = 0.0
    #: The smallest alpha at which this verdict fails (the two bounds' p-values, Bonferroni): valid for any n.
    p_value: float = 1.0

    def _unlisted_text(self) -> str:
        return f" + unlisted reference mass {self.unlisted:.2g}" if self.unlisted > 0 else ""

    def explain(self, level_note: str = "") -> str:
        """One paragraph: which test failed, by how much, and the outcomes that made it fail; ``level_note``
        says where the level tested at came from (a run's budget)."""
        verdict = "matches" if self.passed else "does NOT match"
        note = f" ({level_note})" if level_note else ""
        lines = [
            f"distribution {verdict} the reference at alpha={self.alpha:g}{note} over {self.shots} shots: "
            f"TVD {self.tvd:.4f} (threshold {self.tvd_threshold:.4f} = tolerance {self.tolerance:g}"
            f"{self._unlisted_text()} + BHC bound, "
            f"{self.bins} bins), max per-outcome n*kl {_fmt(self.chernoff)} (threshold {self.chernoff_threshold:.2f}), "
            f"diagnostic G-test p-value {self.g_pvalue:.3g}; p-value of the check {self.p_value:.3g}",
        ]
        if self.worst:
            lines.append("worst outcomes (expected count vs seen): " + "; ".join(
                f"{o.state} {o.expected:.1f} vs {o.seen}" for o in self.worst))
        return "\n".join(lines)


def compare(counts: Mapping[str, int], expected: Mapping[str, float], *, alpha: float = 1e-6,
            tolerance: float = 0.0, worst: int = 5, unlisted: float = 0.0) -> Verdict:
    """Test ``counts`` (outcome -> shots) against ``expected`` (outcome -> probability, normalised here).

    Under the null hypothesis "the shots are independent draws from a distribution within TVD
    ``tolerance`` of ``expected``" the verdict fails with probability at most ``alpha``.

    ``unlisted`` bounds the mass a truncated reference leaves out (outcomes that can happen, not listed):
    the true distribution then lies within TVD ``unlisted`` of ``expected``, so it widens the tolerance
    and an unlisted outcome seen is never taken as impossible.
    """
    if not 0.0 <= unlisted < 1.0:
        raise ValueError(f"unlisted must be in [0, 1), got {unlisted}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    reference = normalised(expected)
    stated = tolerance
    tolerance += unlisted
    n = sum(counts.values())
    if n <= 0:
        raise ValueError("no shots to compare (the counts are empty or sum to 0)")
    tvd, bins = binned_tvd(counts, reference, n)
    tvd_threshold = tolerance + math.sqrt((bins * math.log(2) + math.log(2 / alpha)) / (2 * n))
    outcomes = per_outcome(counts, reference, n, tolerance)
    chernoff = max((o.statistic for o in outcomes), default=0.0)
    chernoff_threshold = math.log(4 * len(outcomes) / alpha)
    passed = tvd <= tvd_threshold and chernoff < chernoff_threshold
    ranked = sorted(outcomes, key=lambda o: o.statistic, reverse=True)[:worst]
    return Verdict(passed, n, alpha, stated, tvd, tvd_threshold, bins, chernoff, chernoff_threshold,
                   g_test_pvalue(counts, reference, n), tuple(o for o in ranked if o.statistic > 0), unlisted,
                   check_pvalue(tvd - tolerance, bins, n, chernoff, len(outcomes)))


def check_pvalue(gap: float, bins: int, n: int, chernoff: float, outcomes: int) -> float:
    """The p-value of :func:`compare`: min(1, 2 * 2^k exp(-2 n gap^2), 4 m exp(-max n kl)).

    Each term is the smallest alpha at which its bound rejects (the TVD test at alpha/2: it rejects when
    2^k exp(-2 n gap^2) < alpha/2; the Chernoff test at alpha/2 with a union over m outcomes: when
    2m exp(-t) <= alpha/2), so P(p_value <= a) <= a under the null hypothesis, for every a and n.
    """
    p_tvd = 1.0 if gap <= 0 else math.exp(min(0.0, (bins + 1) * math.log(2) - 2 * n * gap * gap))
    p_chernoff = 0.0 if math.isinf(chernoff) else math.exp(min(0.0, math.log(4 * outcomes) - chernoff))
    return min(1.0, p_tvd, p_chernoff)


def normalised(expected: Mapping[str, float]) -> dict[str, float]:
    """``expected`` scaled to sum to 1, zero entries dropped; a ``ValueError`` if it cannot be."""
    if any(not math.isfinite(p) or p < 0 for p in expected.values()):
        raise ValueError("expected probabilities must be finite and >= 0")
    total = sum(expected.values())
    if total <= 0:
        raise ValueError("the expected distribution is empty (its probabilities sum to 0)")
    return {state: p / total for state, p in expected.items() if p > 0}


def bins_of(reference: Mapping[str, float], n: int) -> dict[str, str]:
    """Outcome -> bin, from the reference and the shot count alone (never from the data): outcomes
    expected fewer than 5 times share the pooled bin, with every outcome of probability 0."""
    return {state: state if n * p >= POOL_BELOW else POOLED for state, p in reference.items()}


def binned_tvd(counts: Mapping[str, int], reference: Mapping[str, float], n: int) -> tuple[float, int]:
    """The TVD between the binned histogram and the binned reference, and the number of bins."""
    bin_of = bins_of(reference, n)
    expected: dict[str, float] = {}
    for state, p in reference.items():
        expected[bin_of[state]] = expected.get(bin_of[state], 0.0) + p
    seen: dict[str, float] = {}
    for state, c in counts.items():
        key = bin_of.get(state, POOLED)
        seen[key] = seen.get(key, 0.0) + c / n
    keys = set(expected) | {POOLED}  # the partition, fixed before the data; unexpected outcomes fall in POOLED
    return 0.5 * sum(abs(seen.get(k, 0.0) - expected.get(k, 0.0)) for k in keys), len(keys)


def per_outcome(counts: Mapping[str, int], reference: Mapping[str, float], n: int,
                tolerance: float) -> list[Outcome]:
    """The Chernoff statistic of every expected outcome, plus one for all unexpected outcomes together.

    With a tolerance, each true probability may sit anywhere within ``tolerance`` of the reference (a
    TVD bound bounds every single outcome), so the statistic is taken against the nearest such value.
    """
    out = [Outcome(s, n * p, counts.get(s, 0), n * kl_to_interval(counts.get(s, 0) / n, p - tolerance, p + tolerance))
           for s, p in reference.items()]
    unexpected = sum(c for s, c in counts.items() if s not in reference)
    out.append(Outcome(_unexpected_label(counts, reference), 0.0, unexpected,
                       n * kl_to_interval(unexpected / n, 0.0, tolerance)))
    return out


def _unexpected_label(counts: Mapping[str, int], reference: Mapping[str, float]) -> str:
    seen = sorted((c, s) for s, c in counts.items() if s not in reference and c > 0)
    if not seen:
        return UNEXPECTED
    return f"{UNEXPECTED} (most seen: {seen[-1][1]})"


def kl_to_interval(q: float, low: float, high: float) -> float:
    """kl(q || p) for the p in [low, high] closest to q (0 when q is inside)."""
    low, high = max(0.0, low), min(1.0, high)
    if low <= q <= high:
        return 0.0
    return bernoulli_kl(q, high if q > high else low)


def bernoulli_kl(q: float, p: float) -> float:
    """kl(Bernoulli(q) || Bernoulli(p)), infinite when q puts mass where p has none."""
    out = 0.0
    for a, b in ((q, p), (1.0 - q, 1.0 - p)):
        if a > 0:
            if b <= 0:
                return math.inf
            out += a * math.log(a / b)
    return max(out, 0.0)


def g_test_pvalue(counts: Mapping[str, int], reference: Mapping[str, float], n: int) -> float:
    """Asymptotic G-test p-value over the same bins (diagnostic only; 0 when an impossible outcome shows)."""
    bin_of = bins_of(reference, n)
    expected: dict[str, float] = {}
    for state, p in reference.items():
        expected[bin_of[state]] = expected.get(bin_of[state], 0.0) + n * p
    seen: dict[str, int] = {}
    for state, c in counts.items():
        key = bin_of.get(state, POOLED)
        seen[key] = seen.get(key, 0) + c
    if any(c > 0 and expected.get(k, 0.0) <= 0 for k, c in seen.items()):
        return 0.0
    g = 2.0 * sum(c * math.log(c / expected[k]) for k, c in seen.items() if c > 0)
    dof = len(expected) - 1
    return chi2_sf(g, dof) if dof > 0 else 1.0


def chi2_sf(x: float, dof: int) -> float:
    """P(chi2(dof) >= x): the regularised upper incomplete gamma Q(dof/2, x/2)."""
    if x <= 0:
        return 1.0
    return upper_gamma_q(dof / 2.0, x / 2.0)


def upper_gamma_q(a: float, x: float) -> float:
    """Q(a, x) by the series (x < a + 1) or the continued fraction (Lentz), to ~1e-12."""
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)


def shots_for(tvd: float, bins: int, alpha: float = 1e-6, tolerance: float = 0.0) -> int:
    """Shots after which a distribution at TVD ``tvd`` from the reference lies beyond the BHC threshold
    even with no sampling noise: a lower bound on the shots needed to detect it (docs/physics.md)."""
    gap = tvd - tolerance
    if gap <= 0:
        raise ValueError("a TVD within the tolerance is never detected")
    return math.ceil((bins * math.log(2) + math.log(2 / alpha)) / (2 * gap * gap))


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.2f}"
