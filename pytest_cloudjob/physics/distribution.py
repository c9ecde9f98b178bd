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
from dataclasses import dataclass, field
from typing import Any, cast

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import cache, stats, wire

DEFAULT_ALPHA = 1e-6
PROBS_SLACK = 1e-6  # rounding a cloud may do when it writes probabilities as text
SPEC_KEYS = frozenset({"reference", "alpha", "tolerance"})
NAMED_REFERENCES = ("ideal", "noisy")
#: A Fock state as Perceval writes it: ``|1,0>``, annotated ``|{_:0},1>``.
_STATE = re.compile(r"^\|[^|<>]+>$")


class DistributionMismatch(CloudJobError, AssertionError):
    """Results that do not come from the reference distribution (or that cannot be read as a histogram)."""


class DistributionInconclusive(CloudJobError):
    """Results that cannot say whether the cloud is right (no sample kept by a legal post-selection): not
    conclusive, never a verdict on the cloud."""


class Inconclusive(str):
    """A problem that makes the check not conclusive (the scenario step is skipped with it, never red)."""

    is_inconclusive = True


@dataclass(frozen=True)
class Reference:
    """What results are compared with: the probabilities, the mass a truncated reference leaves out
    (``unlisted``), the extra slack a ``probs`` answer gets for Perceval's own truncation at its default
    precision (``probs_slack``), and the probability a shot is kept (``perf``, 1 for an inline one)."""

    probs: Mapping[str, float]
    unlisted: float = 0.0
    probs_slack: float = 0.0
    perf: float = 1.0
    empty_probability: float = 0.0  # that an honest run keeps no sample of its shots (post-selection)


class DistributionSpecError(CloudJobError):
    """A check that cannot be made as written (a mistake of the test, not of the cloud): a bad spec, or a
    computed reference for a job whose payload has no experiment."""


class SpecProblem(str):
    """A problem of the check itself, not of the cloud's results: the scenario runner reports it as a
    harness error (``is_harness_problem``), :func:`assert_distribution` as :class:`DistributionSpecError`."""

    is_harness_problem = True


@dataclass(frozen=True)
class CheckRecord:
    """What one statistical check made of its results, for a run-level budget: its p-value (the smallest
    alpha at which it fails; ``None`` when not conclusive), the level it was tested at, the spec's own alpha;
    and, for a ``datasheet`` check, the figure it estimated (:meth:`datasheet.Finding.figures`), which the
    run writes among its per-platform figures (docs/reporting.md)."""

    p_value: float | None
    level: float
    own_alpha: float | None
    passed: bool
    figure: dict[str, Any] | None = None


@dataclass
class DistributionContext:
    """What a check needs beyond the results to compute ``ideal``/``noisy``: the job's payload as it was
    sent, and the platform's details (called only for ``noisy``).

    A run with a false-alarm budget (``--cloud-alpha``) sets ``run_level``, its per-check share alpha/m
    (``run_level_note`` says so in a failure); each check appends its :class:`CheckRecord` to ``records``.
    """

    payload: dict[str, Any]
    platform_details: Callable[[], dict[str, Any]]
    run_level: float | None = None
    run_level_note: str = ""
    records: list[CheckRecord] = field(default_factory=list)
    #: A list to collect each counts check's chart into (``physics/chart.py``), passing or failing; ``None``
    #: (the default) collects none: a reporter that keeps images sets it.
    charts: list[Any] | None = None


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
        references = _references(spec["reference"], len(entries), context, _has_probs(entries))
    except DistributionSpecError as exc:
        return [SpecProblem(f"{where}: distribution: {exc}")]
    except CloudJobError as exc:
        return [f"{where}: {exc}"]
    alpha, own, note = level_of(spec, context)
    tolerance = float(spec.get("tolerance", 0))
    out: list[str] = []
    p_values: list[float] = []
    for index, (results, reference) in enumerate(zip(entries, references)):
        label = where if len(entries) == 1 else f"{where}.results_list[{index}]"
        problems, p_value = _check_one(results, reference, alpha / len(entries), tolerance, label, note,
                                       context.charts if context is not None else None)
        out.extend(problems)
        if p_value is not None:
            p_values.append(p_value)
    if context is not None:  # a batch's p-value: Bonferroni over its runs, as its level is shared
        p_value = min(1.0, len(entries) * min(p_values)) if p_values else None
        red = any(not getattr(p, "is_inconclusive", False) for p in out)
        context.records.append(CheckRecord(p_value, alpha, own, not red))
    return out


def level_of(spec: Mapping[str, Any], context: DistributionContext | None) -> tuple[float, float | None, str]:
    """The level a check is tested at, the spec's own ``alpha`` (or ``None``), and a note saying why.

    Without a run budget: the spec's ``alpha``, else 1e-6. With one (``context.run_level``, the run's
    alpha/m): that share, or the spec's own ``alpha`` where it is smaller (a scenario may be stricter than
    the run, never looser).
    """
    own = float(spec["alpha"]) if spec.get("alpha") is not None else None
    if context is None or context.run_level is None:
        return (own if own is not None else DEFAULT_ALPHA), own, ""
    if own is not None and own < context.run_level:
        return own, own, f"the scenario's own alpha, stricter than {context.run_level_note}"
    return context.run_level, own, context.run_level_note


def assert_distribution(results_text: Any, reference: str | Mapping[str, float], *, alpha: float = DEFAULT_ALPHA,
                        tolerance: float = 0.0, context: DistributionContext | None = None) -> None:
    """Raise :class:`DistributionMismatch` with the whole explanation if the results fail the check."""
    problems = check_distribution(results_text, {"reference": reference, "alpha": alpha, "tolerance": tolerance},
                                  "results", context)
    if any(getattr(p, "is_harness_problem", False) for p in problems):
        raise DistributionSpecError("\n".join(problems))
    if problems and all(getattr(p, "is_inconclusive", False) for p in problems):
        raise DistributionInconclusive("\n".join(problems))
    if problems:
        raise DistributionMismatch("\n".join(problems))


def _check_one(results: Any, reference: Reference, alpha: float, tolerance: float, where: str,
               note: str = "", charts: list[Any] | None = None) -> tuple[list[str], float | None]:
    """The problems of one run's results and the check's p-value (0 for a broken promise that no sampling
    explains, ``None`` when not conclusive); a counts check appends its chart's data to ``charts``."""
    try:
        histogram = wire.parse_results(results)
    except wire.ResultsFormatError as exc:
        return [f"{where}: {exc}"], 0.0
    if not histogram.values or sum(histogram.values.values()) <= 0:
        if reference.empty_probability >= alpha:  # a post-selection may legally keep nothing of few shots
            return [Inconclusive(f"{where}: not conclusive: the results are empty, as an honest cloud's are with "
                                 f"probability {reference.empty_probability:.3g} (the experiment's filters keep "
                                 f"{reference.perf:.3g} of the events)")], None
        chance = f" (an honest cloud's are with probability {reference.empty_probability:.3g})" \
            if reference.perf < 1 else ""
        return [f"{where}: the results are empty{chance}: nothing to compare with the reference"], \
            reference.empty_probability
    if not histogram.is_counts:
        problems = _check_probs(histogram.values, reference, tolerance, where)
        return problems, 0.0 if problems else 1.0
    counts = cast("dict[str, int]", histogram.values)  # counts are ints (wire.Histogram)
    verdict = stats.compare(counts, reference.probs, alpha=alpha, tolerance=tolerance, unlisted=reference.unlisted)
    if charts is not None:
        from pytest_cloudjob.physics import chart

        charts.append(chart.chart_data(counts, reference.probs, verdict, where))
    return ([] if verdict.passed else [f"{where}: {verdict.explain(note)}"]), verdict.p_value


def _check_probs(probs: Mapping[str, float], reference: Reference, tolerance: float, where: str) -> list[str]:
    """Probabilities carry no sampling noise: they must sum to 1 and lie within ``tolerance`` in TVD, plus
    rounding and the precision Perceval itself reaches (its default precision truncates, issue 20)."""
    total = sum(probs.values())
    if abs(total - 1) > PROBS_SLACK:
        return [f"{where}: probabilities sum to {total:.9g}, not 1"]
    expected = stats.normalised(reference.probs)
    states = set(probs) | set(expected)
    tvd = 0.5 * sum(abs(probs.get(s, 0.0) - expected.get(s, 0.0)) for s in states)
    slack = PROBS_SLACK + reference.unlisted + reference.probs_slack
    if tvd <= tolerance + slack:
        return []
    worst = sorted(states, key=lambda s: abs(probs.get(s, 0.0) - expected.get(s, 0.0)), reverse=True)[:5]
    return [f"{where}: probabilities at TVD {tvd:.6f} from the reference (allowed {tolerance:g} + {slack:.3g}: "
            "rounding and Perceval's own precision); worst (expected vs got): "
            + "; ".join(f"{s} {expected.get(s, 0.0):.6f} vs {probs.get(s, 0.0):.6f}" for s in worst)]


def _has_probs(entries: list[Any]) -> bool:
    """Whether any entry is a probability distribution (only then is Perceval's default answer computed)."""
    return any(isinstance(e, str) and ("BSDistribution" in e[:40] or e.startswith(wire.ZIP)) for e in entries)


def _entries(data: Mapping[str, Any]) -> list[Any]:
    if data.get("results") is not None:
        return [data["results"]]
    runs = data.get("results_list")
    if isinstance(runs, list) and runs and all(isinstance(r, Mapping) and "results" in r for r in runs):
        return [r["results"] for r in runs]
    raise wire.ResultsFormatError(f"no 'results' nor 'results_list' in the results (fields: {', '.join(sorted(data))})")


def _references(reference: Any, runs: int, context: DistributionContext | None,
                probs_check: bool = False) -> list[Reference]:
    if isinstance(reference, Mapping):
        return [Reference({str(k): float(v) for k, v in reference.items()})] * runs
    if context is None:
        raise DistributionSpecError(f"reference {reference!r} is computed from the job's payload, and no job was given")
    from pytest_cloudjob.physics import simulate  # needs Perceval: only for ideal/noisy

    reason = simulate.unavailable_reason()
    if reason is not None:
        raise DistributionSpecError(f"reference {reference!r} needs Perceval: {reason}")
    if not simulate.has_experiment(context.payload):
        raise DistributionSpecError(f"reference {reference!r}: the job's payload has no experiment to simulate "
                            "(no 'experiment', 'circuit' or 'computation')")
    perfs: dict[str, Any] = {}
    threshold = False
    if reference == "noisy":
        details = context.platform_details()
        perfs = {k: v for k, v in (details.get("perfs") or {}).items()
                 if k in simulate.PERF_KEYS or k == simulate.PER_MODE_KEY}
        threshold = simulate.threshold_detectors(details)
        try:
            simulate.detector_efficiencies(perfs)
        except simulate.PhysicsError as exc:  # the platform's own details: the cloud's mistake, not the test's
            raise CloudJobError(str(exc)) from None
    entry = cache.key("reference", [reference, context.payload, perfs, threshold, probs_check])
    kept = _cached_references(entry)
    if kept is None:
        kept = _compute_references(reference, context.payload, perfs, threshold, probs_check)
        if cache.folder() is not None:  # a table's bytes in base64 cost more than the check's statistics
            cache.put(entry, [_stored(r) for r in kept])
    if len(kept) != runs:
        raise CloudJobError(f"the payload asks for {len(kept)} runs and the results have {runs}")
    return kept


def _stored(reference: Reference) -> dict[str, Any]:
    """A reference's fields as they are (``asdict`` deep-copies 12,376 of them), a table as its arrays' bytes."""
    from pytest_cloudjob.physics.table import Table

    fields = dict(vars(reference))
    if isinstance(reference.probs, Table):
        fields["probs"] = {"table": reference.probs.to_json()}
    return fields


def _cached_references(entry: str) -> list[Reference] | None:
    """The references kept under ``entry`` (computed by an earlier check of the same job), if readable."""
    value = cache.get(entry)
    try:
        return [_loaded(item) for item in value] if isinstance(value, list) and value else None
    except (TypeError, ValueError):  # an entry of another shape: computed again
        return None


def _loaded(item: dict[str, Any]) -> Reference:
    probs = item.get("probs")
    if isinstance(probs, dict) and "table" in probs:
        from pytest_cloudjob.physics import table

        tabled = table.from_json(probs["table"])
        if tabled is None:
            raise ValueError("a table that does not read back")
        item = {**item, "probs": tabled}
    return Reference(**item)


def _compute_references(reference: str, payload: Mapping[str, Any], perfs: Mapping[str, Any], threshold: bool,
                        probs_check: bool) -> list[Reference]:
    from pytest_cloudjob.physics import simulate

    try:  # the payload is the one the test sent: one Perceval cannot read or simulate is the test's mistake
        job_runs = simulate.runs_of(payload)
        noise = simulate.noise_of_perfs(perfs) if reference == "noisy" else None
        efficiencies = simulate.detector_efficiencies(perfs)
        return [_computed(run, noise, reference == "noisy", threshold, probs_check, efficiencies) for run in job_runs]
    except simulate.PhysicsError as exc:
        raise DistributionSpecError(f"reference {reference!r}: {exc}") from None


def _computed(run: Any, noise: Any, use_noise: bool, threshold: bool, probs_check: bool,
              efficiencies: tuple[float, ...] | None = None) -> Reference:
    from pytest_cloudjob.physics import simulate

    experiment = run.experiment
    exact = simulate.exact(experiment, noise=noise, use_noise=use_noise, threshold=threshold, efficiencies=efficiencies,
                           by_backend=True)
    slack = 0.0
    if probs_check and exact.unlisted > simulate.UNLISTED_FLOOR:  # a cloud at Perceval's default precision
        default = stats.normalised(simulate.probs_at(
            simulate.prepared(experiment, noise=noise, use_noise=use_noise, threshold=threshold,
                              efficiencies=efficiencies), None))
        expected = stats.normalised(exact.probs)
        slack = 0.5 * sum(abs(default.get(s, 0.0) - expected.get(s, 0.0)) for s in set(default) | set(expected))
    return Reference(exact.probs, exact.unlisted, slack, exact.perf, simulate.empty_probability(exact, run.max_shots))


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
