"""The datasheet checks' incomplete beta (``physics/beta.py``, plain Python so that no run imports scipy for
it) against scipy's, over the shot counts, counts and levels the checks meet: a Clopper-Pearson end or a
binomial tail that drifts is a verdict that drifts."""
from __future__ import annotations

import math
import random

import pytest

from pytest_cloudjob.physics import beta

special = pytest.importorskip("scipy.special")

SHOTS = (1, 2, 5, 20, 50, 500, 5000, 40_000, 50_000, 400_000)
LEVELS = (0.1, 0.05, 1e-2, 2.7e-5, 1e-6, 1e-9, 1e-12)


def cases(seed: int, count: int = 1500) -> list[tuple[int, int, float, float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.choice(SHOTS)
        x = rng.choice([0, 1, n, n - 1, rng.randint(0, n)])
        out.append((n, max(0, x), rng.choice(LEVELS), rng.choice([rng.random(), 1e-7, 1 - 1e-9, x / n])))
    return out


def close(ours: float, theirs: float, relative: float = 1e-9) -> bool:
    return math.isclose(ours, theirs, rel_tol=relative, abs_tol=1e-290)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_clopper_pearson_quantiles_are_scipys(seed: int) -> None:
    for n, x, alpha, _ in cases(seed):
        if x > 0:
            a, b = x, n - x + 1
            assert close(beta.betaincinv(a, b, alpha / 2), special.betaincinv(a, b, alpha / 2)), (n, x, alpha)
        if x < n:
            a, b = x + 1, n - x
            assert close(beta.betaincinv(a, b, 1 - alpha / 2), special.betaincinv(a, b, 1 - alpha / 2)), (n, x, alpha)


@pytest.mark.parametrize("seed", [3, 4])
def test_the_binomial_tails_are_scipys(seed: int) -> None:
    for n, x, _, c in cases(seed):
        if x > 0:  # P(X >= x)
            assert close(beta.betainc(x, n - x + 1, c), special.betainc(x, n - x + 1, c), 1e-8), (n, x, c)
        if x < n:  # P(X <= x)
            assert close(beta.betaincc(x + 1, n - x, c), special.betaincc(x + 1, n - x, c), 1e-8), (n, x, c)


def test_the_ends_and_a_bad_argument() -> None:
    assert beta.betaincinv(3, 4, 0.0) == 0.0 and beta.betaincinv(3, 4, 1.0) == 1.0
    assert beta.betainc(3, 4, 0.0) == 0.0 and beta.betaincc(3, 4, 1.0) == 0.0
    with pytest.raises(ValueError, match="a > 0 and b > 0"):
        beta.betainc(0, 4, 0.5)
