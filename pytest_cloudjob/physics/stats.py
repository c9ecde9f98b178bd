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
The G-test p-value is printed as a diagnostic only: it decides nothing, so it is computed only for a
failure (the only verdict that shows it) unless asked for. Standard library only for small references; from
:data:`VECTORISE_FROM` outcomes on (a 12-mode / 6-photon experiment has 12,376), the same sums are taken with
numpy when it is installed (Perceval depends on it), each outcome's statistic by the same formula.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any

POOL_BELOW = 5.0  # expected count under which outcomes share one bin
UNEXPECTED = "<outcomes with expected probability 0>"
POOLED = "<pooled rare outcomes>"
#: From this many reference outcomes on, :func:`compare` sums with numpy (when installed): below it the
#: standard library is faster than numpy's import (half a second on a busy machine) and its per-call costs.
VECTORISE_FROM = 256


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
    #: The diagnostic G-test's p-value: ``None`` when not computed (a passing verdict, unless asked for).
    g_pvalue: float | None
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
            + (f"diagnostic G-test p-value {self.g_pvalue:.3g}; " if self.g_pvalue is not None else "")
            + f"p-value of the check {self.p_value:.3g}",
        ]
        if self.worst:
            lines.append("worst outcomes (expected count vs seen): " + "; ".join(
                f"{o.state} {o.expected:.1f} vs {o.seen}" for o in self.worst))
        return "\n".join(lines)


def compare(counts: Mapping[str, int], expected: Mapping[str, float], *, alpha: float = 1e-6,
            tolerance: float = 0.0, worst: int = 5, unlisted: float = 0.0, diagnostic: bool | None = None,
            vectorise: bool | None = None) -> Verdict:
    """Test ``counts`` (outcome -> shots) against ``expected`` (outcome -> probability, normalised here).

    Under the null hypothesis "the shots are independent draws from a distribution within TVD
    ``tolerance`` of ``expected``" the verdict fails with probability at most ``alpha``.

    ``unlisted`` bounds the mass a truncated reference leaves out (outcomes that can happen, not listed):
    the true distribution then lies within TVD ``unlisted`` of ``expected``, so it widens the tolerance
    and an unlisted outcome seen is never taken as impossible.

    ``diagnostic``: compute the G-test p-value (``None``: only for a failure, which shows it). ``vectorise``:
    sum with numpy (``None``: from :data:`VECTORISE_FROM` outcomes on, when numpy is installed); both ways
    give the same verdict, the sums differing at most by rounding.
    """
    if not 0.0 <= unlisted < 1.0:
        raise ValueError(f"unlisted must be in [0, 1), got {unlisted}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    stated = tolerance
    tolerance += unlisted
    n = sum(counts.values())
    if vectorise is None:
        vectorise = len(expected) >= VECTORISE_FROM and importlib.util.find_spec("numpy") is not None
    evidence = _evidence_numpy(counts, expected, n, tolerance, worst) if vectorise else \
        _evidence_python(counts, expected, n, tolerance, worst)
    tvd_threshold = tolerance + math.sqrt((evidence.bins * math.log(2) + math.log(2 / alpha)) / (2 * n))
    chernoff_threshold = math.log(4 * evidence.outcomes / alpha)
    passed = evidence.tvd <= tvd_threshold and evidence.chernoff < chernoff_threshold
    g_pvalue = evidence.g_pvalue() if diagnostic or (diagnostic is None and not passed) else None
    return Verdict(passed, n, alpha, stated, evidence.tvd, tvd_threshold, evidence.bins, evidence.chernoff,
                   chernoff_threshold, g_pvalue, evidence.worst, unlisted,
                   check_pvalue(evidence.tvd - tolerance, evidence.bins, n, evidence.chernoff, evidence.outcomes))


@dataclass(frozen=True)
class _Evidence:
    """What :func:`compare` decides from: the binned TVD and its bins, the largest Chernoff statistic over
    ``outcomes`` outcomes (the unexpected one included), the worst outcomes, and the G-test when asked."""

    tvd: float
    bins: int
    chernoff: float
    outcomes: int
    worst: tuple[Outcome, ...]
    g_pvalue: Callable[[], float]


def _evidence_python(counts: Mapping[str, int], expected: Mapping[str, float], n: int, tolerance: float,
                     worst: int) -> _Evidence:
    reference = normalised(expected)
    if n <= 0:
        raise ValueError("no shots to compare (the counts are empty or sum to 0)")
    tvd, bins = binned_tvd(counts, reference, n)
    outcomes = per_outcome(counts, reference, n, tolerance)
    chernoff = max((o.statistic for o in outcomes), default=0.0)
    ranked = sorted(outcomes, key=lambda o: o.statistic, reverse=True)[:worst]
    return _Evidence(tvd, bins, chernoff, len(outcomes), tuple(o for o in ranked if o.statistic > 0),
                     lambda: g_test_pvalue(counts, reference, n))


def _evidence_numpy(counts: Mapping[str, int], expected: Mapping[str, float], n: int, tolerance: float,
                    worst: int) -> _Evidence:
    """:func:`_evidence_python`'s sums over arrays: the same bins, statistics and ranking (ties in the
    reference's order, the unexpected outcomes last)."""
    import numpy

    from pytest_cloudjob.physics.table import Table

    tabled = expected if isinstance(expected, Table) else None
    given = tabled.numbers if tabled is not None else numpy.fromiter(expected.values(), dtype=float, count=len(expected))
    if not numpy.all(numpy.isfinite(given)) or numpy.any(given < 0):
        raise ValueError("expected probabilities must be finite and >= 0")
    total = float(given.sum())
    if total <= 0:
        raise ValueError("the expected distribution is empty (its probabilities sum to 0)")
    if n <= 0:
        raise ValueError("no shots to compare (the counts are empty or sum to 0)")
    kept = given > 0
    p = given[kept] / total
    if tabled is not None:  # the seen outcomes looked up in the table: only their states are str
        tabled = tabled if kept.all() else Table(tabled.states[kept], tabled.numbers[kept])
        c, name, expects = _seen_in(numpy, tabled, counts)
    else:
        states = list(expected) if kept.all() else [state for state, keep in zip(expected, kept.tolist()) if keep]
        c = numpy.fromiter(map(counts.get, states, itertools.repeat(0)), dtype=float, count=len(states))
        name, expects = states.__getitem__, (lambda: frozenset(states))
    unexpected = n - int(c.sum())
    q = c / n
    # the binned TVD: outcomes expected >= POOL_BELOW times are bins, the rest (and every unexpected one) one pool
    big = n * p >= POOL_BELOW
    pooled_p = float(p[~big].sum())
    pooled_q = (float(c[~big].sum()) + unexpected) / n
    tvd = 0.5 * (float(numpy.abs(q[big] - p[big]).sum()) + abs(pooled_q - pooled_p))
    bins = int(big.sum()) + 1
    # per outcome: n kl(q || the nearest point of [p - tolerance, p + tolerance])
    low, high = numpy.maximum(0.0, p - tolerance), numpy.minimum(1.0, p + tolerance)
    target = numpy.where(q > high, high, low)
    outside = (q > high) | (q < low)
    statistic = numpy.where(outside, n * _kl_array(numpy, q, target), 0.0)
    rest = Outcome(UNEXPECTED, 0.0, unexpected, n * kl_to_interval(unexpected / n, 0.0, tolerance))
    chernoff = max(float(statistic.max()) if len(statistic) else 0.0, rest.statistic)
    order = _largest(numpy, statistic, worst)
    ranked = [Outcome(name(i), n * float(p[i]), int(c[i]), float(statistic[i])) for i in order]
    ranked = sorted([*ranked, rest], key=lambda o: o.statistic, reverse=True)[:worst]  # stable: rest last on ties
    if any(o is rest for o in ranked):
        label = _unexpected_label(counts, expects())
        ranked = [Outcome(label, o.expected, o.seen, o.statistic) if o is rest else o for o in ranked]

    def g_pvalue() -> float:
        seen_big, expected_big = c[big], n * p[big]
        pooled_seen, pooled_expected = float(c[~big].sum()) + unexpected, n * pooled_p
        has_pool = bool((~big).any())
        if pooled_seen > 0 and (not has_pool or pooled_expected <= 0):
            return 0.0
        positive = seen_big > 0
        g = float((seen_big[positive] * numpy.log(seen_big[positive] / expected_big[positive])).sum())
        if pooled_seen > 0:
            g += pooled_seen * math.log(pooled_seen / pooled_expected)
        dof = int(big.sum()) + int(has_pool) - 1
        return chi2_sf(2.0 * g, dof) if dof > 0 else 1.0

    return _Evidence(tvd, bins, chernoff, len(p) + 1, tuple(o for o in ranked if o.statistic > 0), g_pvalue)


def _seen_in(numpy: Any, tabled: Any, counts: Mapping[str, int]) -> tuple[Any, Callable[[int], str],
                                                                           Callable[[], Container[str]]]:
    """The counts aligned with a table's outcomes (0 where none was seen), its i-th outcome's name, and
    the seen outcomes that are in it (for the label of the unexpected ones)."""
    keys = list(counts)
    at = tabled.indices(keys)
    hit = at >= 0
    c = numpy.zeros(len(tabled.numbers), dtype=float)
    c[at[hit]] = numpy.fromiter(counts.values(), dtype=float, count=len(keys))[hit]
    return (c, lambda i: tabled.states[i].decode("ascii"),
            lambda: frozenset(k for k, found in zip(keys, hit.tolist()) if found))


def _largest(numpy: Any, values: Any, k: int) -> list[int]:
    """The indices of the ``k`` largest values, largest first, ties in index order (a stable sort's)."""
    if k <= 0 or not len(values):
        return []
    if k < len(values):
        kth = numpy.partition(values, len(values) - k)[len(values) - k]
        values_at = numpy.flatnonzero(values >= kth)  # the k largest and any ties with the k-th, in order
    else:
        values_at = numpy.arange(len(values))
    return [int(i) for i in values_at[numpy.argsort(-values[values_at], kind="stable")][:k]]


def _kl_array(numpy: Any, q: Any, p: Any) -> Any:
    """:func:`bernoulli_kl` of each pair: infinite where ``q`` puts mass where ``p`` has none."""
    with numpy.errstate(divide="ignore", invalid="ignore"):
        out = numpy.zeros_like(q)
        for a, b in ((q, p), (1.0 - q, 1.0 - p)):
            mass = a > 0
            term = numpy.where(mass, a * numpy.log(numpy.where(mass, a, 1.0) / numpy.where(b > 0, b, 1.0)), 0.0)
            out = out + numpy.where(mass & (b <= 0), numpy.inf, term)
    return numpy.maximum(out, 0.0)


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


def _unexpected_label(counts: Mapping[str, int], reference: Container[str]) -> str:
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
