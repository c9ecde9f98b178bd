"""The ``distribution`` check: do a job's results come from the distribution its experiment should give?

Used by the scenario language (``expect: {results: {distribution: {...}}}``) and by Python tests
(:func:`assert_distribution`). The spec::

    reference: ideal | noisy | {"|1,0>": 0.5, "|0,1>": 0.5}   # required
    alpha: 1e-6        # the false-alarm rate of the check, guaranteed (default 1e-6)
    tolerance: 0       # TVD slack delta the cloud is allowed (default 0)

``ideal`` and ``noisy`` are computed here with Perceval (SLOS) from the job's own payload: ``ideal``
without any noise, ``noisy`` with the experiment's noise model or else the platform's ``perfs``. An
inline reference needs nothing installed. Counts (``sample_count``, ``samples``) are tested by
:func:`pytest_cloudjob.physics.stats.compare`; probabilities (``probs``) must lie within ``tolerance``
(plus 1e-6 for rounding) in TVD.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import stats, wire

DEFAULT_ALPHA = 1e-6
PROBS_SLACK = 1e-6  # rounding a cloud may do when it writes probabilities as text
SPEC_KEYS = frozenset({"reference", "alpha", "tolerance"})
NAMED_REFERENCES = ("ideal", "noisy")
#: A Fock state as Perceval writes it: ``|1,0>``, annotated ``|{_:0},1>``.
_STATE = re.compile(r"^\|[^|<>]+>$")


class DistributionMismatch(CloudJobError, AssertionError):
    """Results that do not come from the reference distribution (or that cannot be read as a histogram)."""


class DistributionSpecError(CloudJobError):
    """A check that cannot be made as written (a mistake of the test, not of the cloud): a bad spec, or a
    computed reference for a job whose payload has no experiment."""


class SpecProblem(str):
    """A problem of the check itself, not of the cloud's results: the scenario runner reports it as a
    harness error (``is_harness_problem``), :func:`assert_distribution` as :class:`DistributionSpecError`."""

    is_harness_problem = True


@dataclass
class DistributionContext:
    """What a check needs beyond the results to compute ``ideal``/``noisy``: the job's payload as it was
    sent, and the platform's details (called only for ``noisy``)."""

    payload: dict[str, Any]
    platform_details: Callable[[], dict[str, Any]]


def validate_distribution_spec(spec: Any) -> list[str]:
    """Problems with a spec found at load time, before any job runs (empty when it is fine). Each is said
    without a prefix: the scenario's matcher names ``distribution:`` once, the checks here add it once."""
    if not isinstance(spec, Mapping):
        return [f"expected a mapping with 'reference', got {type(spec).__name__}"]
    problems = [f"unknown key {key!r} (known: {', '.join(sorted(SPEC_KEYS))})"
                for key in spec if key not in SPEC_KEYS]
    reference = spec.get("reference")
    if reference is None:
        problems.append("'reference' is required (ideal, noisy, or a mapping state -> probability)")
    elif isinstance(reference, str):
        if reference not in NAMED_REFERENCES:
            problems.append(f"reference {reference!r} is not ideal, noisy or a mapping")
    elif isinstance(reference, Mapping):
        problems.extend(_inline_problems(reference))
    else:
        problems.append(f"reference must be ideal, noisy or a mapping, got {type(reference).__name__}")
    alpha = spec.get("alpha", DEFAULT_ALPHA)
    if not _is_number(alpha) or not 0 < alpha < 1:
        problems.append(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    tolerance = spec.get("tolerance", 0)
    if not _is_number(tolerance) or tolerance < 0 or tolerance >= 1:
        problems.append(f"tolerance must be a number in [0, 1), got {tolerance!r}")
    return problems


def skip_reason(spec: Mapping[str, Any]) -> str | None:
    """Why the check cannot run in this environment (a skip, never a failure: the cloud is not at fault),
    or ``None``. ``ideal``/``noisy`` references need Perceval; an inline reference needs nothing."""
    if isinstance(spec, Mapping) and spec.get("reference") in NAMED_REFERENCES:
        from pytest_cloudjob.physics import simulate

        return simulate.unavailable_reason()
    return None


def check_distribution(actual: Any, spec: Mapping[str, Any], where: str,
                       context: DistributionContext | None) -> list[str]:
    """Problems with ``actual`` (the result body's ``results`` field) against ``spec`` (empty if none).

    A batch's ``results_list`` is checked run by run (``ideal``/``noisy`` per iteration).
    """
    problems = validate_distribution_spec(spec)
    if problems:
        return [SpecProblem(f"{where}: distribution: {p}") for p in problems]
    try:
        data = wire.parse_results_text(actual)
        entries = _entries(data)
    except wire.ResultsFormatError as exc:
        return [f"{where}: {exc}"]
    try:
        references = _references(spec["reference"], len(entries), context)
    except DistributionSpecError as exc:
        return [SpecProblem(f"{where}: distribution: {exc}")]
    except CloudJobError as exc:
        return [f"{where}: {exc}"]
    alpha = float(spec.get("alpha", DEFAULT_ALPHA))
    tolerance = float(spec.get("tolerance", 0))
    out = []
    for index, (results, reference) in enumerate(zip(entries, references)):
        label = where if len(entries) == 1 else f"{where}.results_list[{index}]"
        out.extend(_check_one(results, reference, alpha / len(entries), tolerance, label))
    return out


def assert_distribution(results_text: Any, reference: str | Mapping[str, float], *, alpha: float = DEFAULT_ALPHA,
                        tolerance: float = 0.0, context: DistributionContext | None = None) -> None:
    """Raise :class:`DistributionMismatch` with the whole explanation if the results fail the check."""
    problems = check_distribution(results_text, {"reference": reference, "alpha": alpha, "tolerance": tolerance},
                                  "results", context)
    if any(getattr(p, "is_harness_problem", False) for p in problems):
        raise DistributionSpecError("\n".join(problems))
    if problems:
        raise DistributionMismatch("\n".join(problems))


def _check_one(results: Any, reference: Mapping[str, float], alpha: float, tolerance: float, where: str) -> list[str]:
    try:
        histogram = wire.parse_results(results)
    except wire.ResultsFormatError as exc:
        return [f"{where}: {exc}"]
    if not histogram.values or sum(histogram.values.values()) <= 0:
        return [f"{where}: the results are empty: nothing to compare with the reference"]
    if not histogram.is_counts:
        return _check_probs(histogram.values, reference, tolerance, where)
    counts = {state: int(v) for state, v in histogram.values.items()}
    verdict = stats.compare(counts, reference, alpha=alpha, tolerance=tolerance)
    return [] if verdict.passed else [f"{where}: {verdict.explain()}"]


def _check_probs(probs: Mapping[str, float], reference: Mapping[str, float], tolerance: float, where: str) -> list[str]:
    """Probabilities carry no sampling noise: they must sum to 1 and lie within ``tolerance`` in TVD."""
    total = sum(probs.values())
    if abs(total - 1) > PROBS_SLACK:
        return [f"{where}: probabilities sum to {total:.9g}, not 1"]
    expected = stats.normalised(reference)
    states = set(probs) | set(expected)
    tvd = 0.5 * sum(abs(probs.get(s, 0.0) - expected.get(s, 0.0)) for s in states)
    if tvd <= tolerance + PROBS_SLACK:
        return []
    worst = sorted(states, key=lambda s: abs(probs.get(s, 0.0) - expected.get(s, 0.0)), reverse=True)[:5]
    return [f"{where}: probabilities at TVD {tvd:.6f} from the reference (allowed {tolerance:g} + {PROBS_SLACK:g}); "
            "worst (expected vs got): " + "; ".join(f"{s} {expected.get(s, 0.0):.6f} vs {probs.get(s, 0.0):.6f}"
                                                    for s in worst)]


def _entries(data: Mapping[str, Any]) -> list[Any]:
    if data.get("results") is not None:
        return [data["results"]]
    runs = data.get("results_list")
    if isinstance(runs, list) and runs and all(isinstance(r, Mapping) and "results" in r for r in runs):
        return [r["results"] for r in runs]
    raise wire.ResultsFormatError(f"no 'results' nor 'results_list' in the results (fields: {', '.join(sorted(data))})")


def _references(reference: Any, runs: int, context: DistributionContext | None) -> list[Mapping[str, float]]:
    if isinstance(reference, Mapping):
        return [{str(k): float(v) for k, v in reference.items()}] * runs
    if context is None:
        raise DistributionSpecError(f"reference {reference!r} is computed from the job's payload, and no job was given")
    from pytest_cloudjob.physics import simulate  # needs Perceval: only for ideal/noisy

    reason = simulate.unavailable_reason()
    if reason is not None:
        raise DistributionSpecError(f"reference {reference!r} needs Perceval: {reason}")
    if not simulate.has_experiment(context.payload):
        raise DistributionSpecError(f"reference {reference!r}: the job's payload has no experiment to simulate "
                            "(no 'experiment', 'circuit' or 'computation')")
    try:  # the payload is the one the test sent: one Perceval cannot read or simulate is the test's mistake
        job_runs = simulate.runs_of(context.payload)
    except simulate.PhysicsError as exc:
        raise DistributionSpecError(f"reference {reference!r}: {exc}") from None
    if len(job_runs) != runs:
        raise CloudJobError(f"the payload asks for {len(job_runs)} runs and the results have {runs}")
    noise = None
    if reference == "noisy":
        noise = simulate.noise_of_perfs(context.platform_details().get("perfs") or {})
    try:
        return [simulate.exact(run.experiment, noise=noise, use_noise=reference == "noisy").probs for run in job_runs]
    except simulate.PhysicsError as exc:
        raise DistributionSpecError(f"reference {reference!r}: {exc}") from None


def _inline_problems(reference: Mapping[Any, Any]) -> list[str]:
    if not reference:
        return ["the inline reference is empty"]
    problems = [f"reference state {state!r} is not a state such as '|1,0>' (a '|', modes, a '>')"
                for state in reference if not isinstance(state, str) or not _STATE.match(state)]
    problems += [f"reference probability of {state!r} must be a number >= 0, got {p!r}"
                 for state, p in reference.items() if not _is_number(p) or p < 0]
    if not problems and sum(reference.values()) <= 0:
        problems.append("the inline reference probabilities sum to 0")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
