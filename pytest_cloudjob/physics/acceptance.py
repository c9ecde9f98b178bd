"""The ``acceptance`` check: does the ``physical_perf`` a cloud reports agree with the samples it kept?

Used by the scenario language (``expect: {results: {acceptance: {}}}``, ``alpha`` optional). A job's results
carry ``physical_perf`` and ``logical_perf``; their product is Perceval's ``global_perf``, the probability that
an event of the source passes the experiment's filters (photon count, heralds, postselection), the event with
no photon at all included (Perceval's simulators take it out as they would any event below the photon
filter). A **shot** is an event with at least one photon detected, a **sample** a shot that passes the
filters (docs/protocol.md [P-results-4], ``perceval/simulators/noisy_sampling_simulator.py``: the shots to
take are scaled by ``physical_perf / (1 - zpp)``, "P(n >= filter | n > 0)"). So a job whose sampling ran to
its ``max_shots`` keeps

    kept ~ Binomial(max_shots, q),   q = physical_perf * logical_perf / (1 - P(vacuum))

samples, P(vacuum) being the probability that the source emits no photon into the experiment's input (its
own noise model, else the platform's advertised ``perfs``; 0 for a perfect source), computed here from
Perceval's ``Source`` one input mode at a time. A linear circuit keeps the photon number and a detector that
sees a photon clicks, so an event has a photon detected exactly when the source emitted one.

No shot shows the vacuum, so P(vacuum) comes from the device's model, and a real device's transmittance is
known only within its datasheet margin. The null hypothesis [P-results-6] is therefore composite: kept ~
Binomial(max_shots, q(T)) for some transmittance T within ``margin`` (default 0.05, the shipped datasheet
check's) of the advertised ``Transmittance (%)``, the other figures as advertised. q(T) is monotone in T, so
the test is the exact two-sided binomial test of :mod:`pytest_cloudjob.physics.datasheet` against the region
[q(T + margin), q(T - margin)] (its p-value, and the Clopper-Pearson interval in the text), at the check's
level: the spec's ``alpha``, else the run's share of ``--cloud-alpha``, else 1e-6, as for ``distribution``. A
device outside the margin may make it red: the datasheet check of the transmittance says so [P-physics-2].

A batch (``results_list``) is checked run by run, each at alpha / runs (Bonferroni). Not conclusive, never
red, where the results cannot say: no ``physical_perf`` reported, ``probs`` results (no shots), no
``max_shots`` in the payload, samples that reached ``max_samples`` (the sampling may have stopped before the
last shot), an input that is not a Fock state, a noisy platform that does not advertise its transmittance.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import cache, wire
from pytest_cloudjob.physics.datasheet import binomial_p_value, clopper_pearson, confidence
from pytest_cloudjob.physics.distribution import CheckRecord, DistributionContext, Inconclusive, SpecProblem, level_of

SPEC_KEYS = frozenset({"alpha", "margin"})
DEFAULT_MARGIN = 0.05  # of the transmittance, a fraction: the shipped datasheet check's margin
TRANSMITTANCE_KEY = "Transmittance (%)"
#: How far above 1 a computed q may be and still be taken as 1 (floating-point rounding of perf / (1 - vacuum)).
ROUNDING = 1e-9


@dataclass(frozen=True)
class Finding:
    """What one acceptance check found: the samples kept of the shots, the perfs reported, the vacuum
    probability of the model, the acceptance q they promise, the interval for the kept fraction, the test."""

    kept: int
    shots: int
    physical_perf: float
    logical_perf: float
    vacuum: tuple[float, float]  # P(vacuum) at the ends of the transmittance region (equal without a margin)
    expected: tuple[float, float]  # the acceptance q over that region
    interval: tuple[float, float]
    level: float
    p_value: float
    note: str = ""
    vacuum_from: str = "the platform's perfs"

    @property
    def passed(self) -> bool:
        return self.p_value > self.level

    def summary(self) -> str:
        """One paragraph, the verdict before the detail: kept/shots and its interval, the reported perf, the
        acceptance it promises, the p-value and the level (a runner cuts a line at 400 characters)."""
        verdict = "agree with" if self.passed else "do NOT agree with"
        logical = "" if self.logical_perf == 1 else f" x logical_perf {self.logical_perf:.6g}"
        note = f" ({self.note})" if self.note else ""
        return (f"{self.kept} of {self.shots} shots kept ({self.kept / self.shots:.5f}) {verdict} physical_perf "
                f"{self.physical_perf:.6g}{logical}: p-value {self.p_value:.3g} at alpha {self.level:.3g}{note}; "
                f"promised {_span(self.expected)} of the shots = perf / (1 - P(vacuum) {_span(self.vacuum)}, "
                f"{self.vacuum_from}); kept fraction's {confidence(self.level)} Clopper-Pearson interval "
                f"[{self.interval[0]:.5f}, {self.interval[1]:.5f}]")


def _span(ends: tuple[float, float]) -> str:
    return f"{ends[0]:.5f}" if abs(ends[1] - ends[0]) < 5e-6 else f"[{ends[0]:.5f}, {ends[1]:.5f}]"


class _NotConclusive(Exception):
    """The results cannot say (no physical_perf, probabilities, capped samples...): no verdict on the cloud."""


class _AcceptanceSpecError(CloudJobError):
    """A check that cannot be made as written (a mistake of the test, not of the cloud)."""


def validate_acceptance_spec(spec: Any) -> list[str]:
    """Problems with a spec found at load time (empty when it is fine), said without a prefix."""
    if not isinstance(spec, Mapping):
        return [f"expected a mapping (acceptance: {{}} or acceptance: {{alpha: 1.0e-6}}), got {type(spec).__name__}"]
    problems = [f"unknown key {key!r} (known: {', '.join(sorted(SPEC_KEYS))})" for key in spec if key not in SPEC_KEYS]
    alpha = spec.get("alpha")
    if alpha is not None and (not _is_number(alpha) or not 0 < alpha < 1):
        problems.append(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    margin = spec.get("margin")
    if margin is not None and (not _is_number(margin) or not 0 <= margin < 1):
        problems.append(f"margin must be a number in [0, 1) (of the transmittance, a fraction: 0.05 is five points), "
                        f"got {margin!r}")
    return problems


def check_acceptance(actual: Any, spec: Mapping[str, Any], where: str,
                     context: DistributionContext | None) -> tuple[list[str], str]:
    """Problems with ``actual`` (the result body's ``results`` field) against ``spec``, and the check's report
    (for Allure; empty when no test was made). A run-level budget in ``context`` gets a :class:`CheckRecord`."""
    problems = validate_acceptance_spec(spec)
    if problems:
        return [SpecProblem(f"{where}: acceptance: {p}") for p in problems], ""
    level, own, note = level_of(spec, context)
    margin = float(spec.get("margin", DEFAULT_MARGIN))
    try:
        pairs = _runs(actual, context, margin)
    except _AcceptanceSpecError as exc:
        return [SpecProblem(f"{where}: acceptance: {exc}")], ""
    except (wire.ResultsFormatError, CloudJobError) as exc:
        if context is not None:
            context.records.append(CheckRecord(0.0, level, own, False))
        return [f"{where}: acceptance: {exc}"], ""
    assert context is not None  # _runs refuses a check without a job
    out: list[str] = []
    reports: list[str] = []
    p_values: list[float] = []
    for index, (entry, run) in enumerate(pairs):  # a batch: each run at level / runs (Bonferroni)
        label = where if len(pairs) == 1 else f"{where}.results_list[{index}]"
        try:
            finding = _evaluate_run(entry, run, context, level / len(pairs), note, margin)
        except _AcceptanceSpecError as exc:
            return [SpecProblem(f"{label}: acceptance: {exc}")], ""
        except _NotConclusive as exc:
            out.append(Inconclusive(f"{label}: not conclusive: acceptance: {exc}"))
            continue
        except (wire.ResultsFormatError, CloudJobError) as exc:
            out.append(f"{label}: acceptance: {exc}")
            p_values.append(0.0)
            continue
        p_values.append(finding.p_value)
        text = finding.summary()
        reports.append(text if len(pairs) == 1 else f"results_list[{index}]: {text}")
        if not finding.passed:
            out.append(f"{label}: acceptance: {text}")
    red = any(not getattr(p, "is_inconclusive", False) for p in out)
    p_value = min(1.0, len(pairs) * min(p_values)) if p_values else None
    context.records.append(CheckRecord(p_value, level, own, not red))
    return out, "\n".join(reports)


def evaluate(actual: Any, context: DistributionContext | None, level: float, note: str = "",
             margin: float = DEFAULT_MARGIN) -> Finding:
    """The test of one run's results (see the module's docstring; a batch is :func:`check_acceptance`'s)."""
    pairs = _runs(actual, context, margin)
    if len(pairs) != 1 or context is None:
        raise _AcceptanceSpecError(f"the results hold {len(pairs)} runs; evaluate reads one")
    return _evaluate_run(*pairs[0], context, level, note, margin)


@dataclass(frozen=True)
class _Run:
    """What the check needs of one run the payload asks for: its shot budget and its source's vacuum
    probability at the ends of the region (or why it is not modelled). Plain data: kept in the physics
    cache, so a check of an experiment seen before reads neither the payload nor Perceval."""

    max_shots: int | None
    max_samples: int | None
    vacuum: tuple[float, float] | None
    vacuum_from: str
    not_conclusive: str | None = None


def _run_facts(context: DistributionContext, margin: float) -> list[_Run]:
    """The :class:`_Run` of each run of the job's payload on its platform (cached)."""
    from pytest_cloudjob.physics import simulate

    details = context.platform_details()
    perfs = {k: v for k, v in (details.get("perfs") or {}).items() if k in simulate.PERF_KEYS}
    entry = cache.key("acceptance-runs", [context.payload, perfs, details.get("name"), margin])
    kept = cache.get(entry)
    if isinstance(kept, list) and kept and all(isinstance(k, dict) for k in kept):
        try:
            return [_Run(k["max_shots"], k["max_samples"], None if k["vacuum"] is None else tuple(k["vacuum"]),
                         k["vacuum_from"], k["not_conclusive"]) for k in kept]
        except (KeyError, TypeError, ValueError):
            pass  # an entry of another shape: computed again
    try:
        runs = simulate.runs_of(context.payload)
    except simulate.PhysicsError as exc:
        raise _AcceptanceSpecError(str(exc)) from None
    facts = []
    for run in runs:
        try:
            vacuum, vacuum_from = _vacuum(run.experiment, context, margin)
            facts.append(_Run(run.max_shots, run.max_samples, vacuum, vacuum_from))
        except _NotConclusive as exc:
            facts.append(_Run(run.max_shots, run.max_samples, None, "", str(exc)))
    cache.put(entry, [{"max_shots": f.max_shots, "max_samples": f.max_samples, "vacuum": f.vacuum,
                       "vacuum_from": f.vacuum_from, "not_conclusive": f.not_conclusive} for f in facts])
    return facts


def _runs(actual: Any, context: DistributionContext | None, margin: float) -> list[tuple[Mapping[str, Any], _Run]]:
    """Each run's results with what the check needs of the run the payload asked for."""
    if context is None:
        raise _AcceptanceSpecError("the check reads the job's payload (its shots, its experiment) and no job was given")
    from pytest_cloudjob.physics import simulate

    reason = simulate.unavailable_reason()
    if reason is not None:
        raise _AcceptanceSpecError(f"needs Perceval (the source's vacuum probability): {reason}")
    body = wire.parse_results_text(actual)
    entries = [body] if body.get("results") is not None else body.get("results_list")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, Mapping) and "results" in e
                                                               for e in entries):
        raise wire.ResultsFormatError(f"no 'results' nor 'results_list' in the results (fields: "
                                      f"{', '.join(sorted(map(str, body)))})")
    runs = _run_facts(context, margin)
    if len(runs) != len(entries):
        raise CloudJobError(f"the payload asks for {len(runs)} runs and the results have {len(entries)}")
    return list(zip(entries, runs))


def _evaluate_run(body: Mapping[str, Any], run: _Run, context: DistributionContext, level: float, note: str,
                  margin: float) -> Finding:
    """The test of one run: its results and perfs (``body``) against its shots and its source's vacuum."""
    physical, logical = _perfs(body)
    histogram = wire.parse_results(body["results"])
    if not histogram.is_counts:
        raise _NotConclusive("probabilities (probs) take no shots: there is no kept count to compare with")
    kept = int(round(sum(histogram.values.values())))
    if not run.max_shots:
        raise _NotConclusive(f"the payload gives no max_shots ({run.max_shots!r}): the shots taken are not known")
    if run.max_samples is not None and kept >= run.max_samples:
        raise _NotConclusive(f"{kept} samples reached max_samples {run.max_samples}: the sampling may have stopped "
                             f"before its {run.max_shots} shots, so the shots taken are not known")
    shots = int(run.max_shots)
    if kept > shots:
        raise CloudJobError(f"{kept} samples kept of {shots} shots: more samples than shots [P-results-4]")
    if run.vacuum is None:
        raise _NotConclusive(run.not_conclusive or "the source's vacuum probability is not modelled")
    vacuum, vacuum_from = run.vacuum, run.vacuum_from
    if vacuum[0] >= 1:
        raise _NotConclusive("the source never emits a photon on this input: no shot can be taken")
    promised = physical * logical
    low, high = (promised / (1 - v) if v < 1 else math.inf for v in vacuum)
    if low > 1 + ROUNDING:
        raise CloudJobError(
            f"the reported physical_perf {physical:.6g} (x logical_perf {logical:.6g}) is more than the "
            f"probability {1 - vacuum[0]:.6g} that an event has a photon ({vacuum_from}): it promises more samples "
            f"than shots ({low:.6g} of them); {kept} kept of {shots}")
    expected = (min(1.0, low), min(1.0, high))
    return Finding(kept, shots, physical, logical, vacuum, expected, clopper_pearson(kept, shots, level), level,
                   binomial_p_value(kept, shots, *expected), note, vacuum_from)


def _perfs(body: Mapping[str, Any]) -> tuple[float, float]:
    """The reported ``physical_perf`` and ``logical_perf`` (1 when absent): not conclusive without the first,
    red when either is not a probability."""
    physical = body.get("physical_perf")
    if physical is None:
        raise _NotConclusive("the results report no physical_perf")
    logical = body.get("logical_perf", 1.0)
    logical = 1.0 if logical is None else logical
    for name, value in (("physical_perf", physical), ("logical_perf", logical)):
        if not _is_number(value) or not 0 <= value <= 1:
            raise CloudJobError(f"{name} is {value!r}, not a probability in [0, 1] (docs/protocol.md [P-results-6])")
    return float(physical), float(logical)


def _vacuum(experiment: Any, context: DistributionContext, margin: float) -> tuple[tuple[float, float], str]:
    """P(vacuum) at the ends of the region (lowest first: the transmittance at the top of its margin), and
    where the noise came from: the experiment's own model exactly, else the platform's perfs with the
    advertised transmittance moved by ``margin`` each way."""
    state = experiment.input_state
    try:
        photons = [int(n) for n in state] if state is not None else []
    except (TypeError, ValueError):
        photons = []
    if not photons or type(state).__name__ not in ("BasicState", "FockState"):
        raise _NotConclusive(f"the input {state!s} is not a Fock state: its vacuum probability is not modelled")
    if experiment.noise is not None:
        exact = _source_vacuum(experiment.noise, photons)
        return (exact, exact), "the experiment's own noise model"
    from pytest_cloudjob.physics import simulate

    details = context.platform_details()
    perfs = {k: float(v) for k, v in (details.get("perfs") or {}).items() if k in simulate.PERF_KEYS}
    name = details.get("name")
    if TRANSMITTANCE_KEY not in perfs:
        if any(perfs.get(k, ideal) != ideal for k, ideal in (("HOM (%)", 100.0), ("g2 (%)", 0.0))):
            raise _NotConclusive(f"platform {name} does not advertise {TRANSMITTANCE_KEY!r}: the vacuum probability "
                                 "of its source is not known")
        perfs[TRANSMITTANCE_KEY] = 100.0
    advertised = perfs[TRANSMITTANCE_KEY] / 100
    ends = (min(1.0, advertised + margin), max(0.0, advertised - margin))
    vacuum = tuple(_source_vacuum(simulate.noise_of_perfs({**perfs, TRANSMITTANCE_KEY: 100 * t}), photons)
                   for t in ends)
    where = f"{name}'s perfs" + (f", T {advertised:g} ± {margin:g}" if margin else "")
    return (min(vacuum), max(vacuum)), where


def _source_vacuum(noise: Any, photons: list[int]) -> float:
    """The probability that Perceval's source emits no photon at all into an input of ``photons`` per mode:
    each mode's source is independent, so the product of each mode's vacuum."""
    import perceval as pcvl

    source = pcvl.Source.from_noise_model(noise)
    vacuum = 1.0
    for count in {n for n in photons if n > 0}:
        emitted = source.probability_distribution(count)
        nothing = float(sum(p for sv, p in emitted.items() if max(sv.n) == 0))
        vacuum *= nothing ** photons.count(count)
    return vacuum


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
