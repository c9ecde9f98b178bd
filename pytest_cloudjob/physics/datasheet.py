"""The ``datasheet`` check: is the device as good as the figures its platform advertises?

Used by the scenario language (``expect: {results: {datasheet: {figure: g2, margin: 0.01}}}``). A platform
advertises its device in its details' ``perfs`` (Perceval's keys, in percent: ``Transmittance (%)``,
``HOM (%)``, ``g2 (%)``). The check reads one number from a job's results, the **coincidence fraction**
``c = X / N``: of the N samples, the X in which at least two modes register photons. Given N, X is
Binomial(N, c) exactly (the multinomial's marginal), whatever the rest of the distribution. The model
``c(theta)`` of the job's own experiment is computed by Perceval (SLOS), on the platform's advertised
figures and detectors with the checked figure set to ``theta``; on an experiment that identifies the
figure it is strictly monotone, so an interval for c is an interval for the figure:

- ``transmittance``: three photons through three empty modes: c = P(>= 2 of 3 photons kept | >= 1 kept).
- ``hom`` (HOM visibility): ``|1,1>`` into a 50:50 beam splitter: c grows as photons become distinguishable.
- ``g2``: one photon into a 50:50 beam splitter (Hanbury Brown-Twiss): only multi-photon emission clicks twice.
- ``detector_efficiency``: a uniform efficiency eta of the detectors, advertised as ``Detector efficiency (%)``
  (no Perceval key: a uniform efficiency is a loss before the detectors, modelled as transmittance x eta).
- ``detector_efficiency`` with ``mode: k``: detector k's efficiency relative to the best one, advertised in
  Perceval's per-mode form (``Transmission per mode (%)``: ``{t_out: [...]}``, relative ``t_out[k] / max``):
  one photon spread over the modes; the statistic is then the **click fraction** of detector k, the samples
  in which mode k registers photons, Binomial(N, c_k) as well, and c_k grows with its efficiency.

The test: H0 "the figure lies within ``margin`` of the advertised one" (``margin`` in the figure's own unit,
a fraction: 0.01 is one percentage point). It is red when the exact Clopper-Pearson interval for c at
confidence 1 - alpha lies outside c([advertised - margin, advertised + margin]); its p-value is
``min(1, 2 * min(P(X >= x | c_high), P(X <= x | c_low)))`` at the region's ends, so the false-alarm
probability is at most alpha for every device within the margin (docs/physics.md, "Datasheet checks").
alpha is the spec's own, else the run's share of ``--cloud-alpha``, else 1e-6, as for ``distribution``.
A figure the platform does not advertise, or results with no sample, make the check not conclusive.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import cache, wire
from pytest_cloudjob.physics.beta import betainc, betaincc, betaincinv
from pytest_cloudjob.physics.distribution import CheckRecord, DistributionContext, Inconclusive, SpecProblem, level_of

SPEC_KEYS = frozenset({"figure", "margin", "alpha", "mode"})
TRANSMITTANCE_KEY = "Transmittance (%)"


@dataclass(frozen=True)
class Figure:
    """A datasheet figure: its name in a spec, its key in ``perfs``, what it is, and the range it can take."""

    name: str
    key: str
    label: str
    low: float = 0.0
    high: float = 1.0
    better: str = "higher"  # which way a device improves, for a report that follows the figure run to run


FIGURES: dict[str, Figure] = {f.name: f for f in (
    Figure("transmittance", TRANSMITTANCE_KEY, "transmittance", 0.02, 1.0),
    Figure("hom", "HOM (%)", "HOM visibility"),
    Figure("g2", "g2 (%)", "g2", 0.0, 0.5, "lower"),
    Figure("detector_efficiency", "Detector efficiency (%)", "detector efficiency", 0.02, 1.0),
)}
GRID = 26  # points of the model curve c(theta) over the figure's range (for the estimate and its interval)
FLAT = 1e-9  # a curve that changes less than this over the range does not identify the figure


@dataclass(frozen=True)
class Finding:
    """What one datasheet check found: the figure, the advertised value and margin, the coincidences ``x`` of
    ``n`` samples, the estimate and its interval (in the figure's unit), the level, the p-value, the verdict."""

    figure: Figure
    advertised: float
    margin: float
    x: int
    n: int
    estimate: float
    interval: tuple[float, float]
    level: float
    p_value: float
    region: tuple[float, float]  # c at the ends of the margin
    physical_perf: float | None = None
    note: str = ""
    counted: str = "coincidences"  # what x counts: coincidences, or a detector's clicks

    @property
    def passed(self) -> bool:
        return self.p_value > self.level

    def figures(self) -> dict[str, Any]:
        """The numbers of this check as plain data (fractions), for the run's per-platform figures."""
        return {"figure": self.figure.name, "label": self.figure.label, "key": self.figure.key,
                "better": self.figure.better, "estimate": self.estimate, "low": self.interval[0],
                "high": self.interval[1], "advertised": self.advertised, "margin": self.margin,
                "coincidences": self.x, "samples": self.n, "level": self.level, "p_value": self.p_value,
                "passed": self.passed}

    def summary(self) -> str:
        """One paragraph: the estimate, its interval, the advertised value and the margin, the verdict."""
        f, lo, hi = self.figure, max(self.figure.low, self.advertised - self.margin), \
            min(self.figure.high, self.advertised + self.margin)
        verdict = "within" if self.passed else "OUTSIDE"
        perf = "" if self.physical_perf is None else f"; physical_perf {self.physical_perf:.4g}"
        note = f" ({self.note})" if self.note else ""
        return (f"{f.label} estimated {self.estimate:.4f}, {confidence(self.level)} interval "
                f"[{self.interval[0]:.4f}, {self.interval[1]:.4f}] (exact Clopper-Pearson on {self.x} {self.counted} "
                f"in {self.n} samples, c = {self.x / self.n:.5f}); advertised {self.advertised:.4f} "
                f"('{f.key}' {100 * self.advertised:g}) with margin {self.margin:g}: the figure is {verdict} "
                f"[{lo:.4f}, {hi:.4f}] (c in [{self.region[0]:.5f}, {self.region[1]:.5f}]), p-value "
                f"{self.p_value:.3g} at alpha {self.level:.3g}{note}{perf}; the model holds the other "
                "advertised figures and the platform's detectors")


class _DatasheetSpecError(CloudJobError):
    """A datasheet check that cannot be made as written (a mistake of the test, not of the cloud)."""


def validate_datasheet_spec(spec: Any) -> list[str]:
    """Problems with a spec found at load time (empty when it is fine), said without a prefix."""
    if not isinstance(spec, Mapping):
        return [f"expected a mapping with 'figure' and 'margin', got {type(spec).__name__}"]
    problems = [f"unknown key {key!r} (known: {', '.join(sorted(SPEC_KEYS))})" for key in spec if key not in SPEC_KEYS]
    figure = spec.get("figure")
    if figure is None:
        problems.append(f"'figure' is required ({', '.join(FIGURES)})")
    elif figure not in FIGURES:
        problems.append(f"figure {figure!r} is not one of {', '.join(FIGURES)}")
    margin = spec.get("margin")
    if margin is None:
        problems.append("'margin' is required: how far the figure may be from the advertised one (0.01: one point)")
    elif not _is_number(margin) or not 0 <= margin < 1:
        problems.append(f"margin must be a number in [0, 1) (a fraction: 0.01 is one point), got {margin!r}")
    mode = spec.get("mode")
    if mode is not None and (not isinstance(mode, int) or isinstance(mode, bool) or mode < 0):
        problems.append(f"mode must be a mode number >= 0 (the detector to estimate), got {mode!r}")
    elif mode is not None and figure in FIGURES and figure != "detector_efficiency":
        problems.append(f"'mode' names a detector: it goes with figure detector_efficiency, not {figure}")
    alpha = spec.get("alpha")
    if alpha is not None and (not _is_number(alpha) or not 0 < alpha < 1):
        problems.append(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return problems


def check_datasheet(actual: Any, spec: Mapping[str, Any], where: str,
                    context: DistributionContext | None) -> tuple[list[str], str]:
    """Problems with ``actual`` (the result body's ``results`` field) against ``spec``, and the check's report
    (for Allure; empty when no estimate was made). A run-level budget in ``context`` gets a :class:`CheckRecord`."""
    problems = validate_datasheet_spec(spec)
    if problems:
        return [SpecProblem(f"{where}: datasheet: {p}") for p in problems], ""
    level, own, note = level_of(spec, context)
    try:
        finding = evaluate(actual, spec, context, level, note)
    except _DatasheetSpecError as exc:
        return [SpecProblem(f"{where}: datasheet: {exc}")], ""
    except _NotConclusive as exc:
        if context is not None:
            context.records.append(CheckRecord(None, level, own, True))
        return [Inconclusive(f"{where}: not conclusive: datasheet {spec['figure']}: {exc}")], ""
    except (wire.ResultsFormatError, CloudJobError) as exc:
        if context is not None:
            context.records.append(CheckRecord(0.0, level, own, False))
        return [f"{where}: datasheet {spec['figure']}: {exc}"], ""
    if context is not None:
        context.records.append(CheckRecord(finding.p_value, level, own, finding.passed, finding.figures()))
    if context is not None and context.charts is not None:  # a reporter that keeps images: its picture
        from pytest_cloudjob.physics import datasheet_chart

        context.charts.append(datasheet_chart.chart_data(finding, where))
    text = finding.summary()
    return ([] if finding.passed else [f"{where}: datasheet: {text}"]), text


class _NotConclusive(Exception):
    """The results cannot say (the figure is not advertised, no sample): no verdict on the cloud."""


def evaluate(actual: Any, spec: Mapping[str, Any], context: DistributionContext | None, level: float,
             note: str = "") -> Finding:
    """The estimate, its interval and the test of one datasheet check (see the module's docstring)."""
    figure = FIGURES[spec["figure"]]
    margin = float(spec["margin"])
    mode = spec.get("mode")
    if context is None:
        raise _DatasheetSpecError("the check reads the job's experiment and its platform's perfs, and no job was given")
    from pytest_cloudjob.physics import simulate

    reason = simulate.unavailable_reason()
    if reason is not None:
        raise _DatasheetSpecError(f"needs Perceval: {reason}")
    details = context.platform_details()
    perfs = dict(details.get("perfs") or {})
    if mode is not None:
        figure, advertised = _detector_figure(perfs, mode, details.get("name"))
    elif figure.key not in perfs:
        raise _NotConclusive(f"platform {details.get('name')} does not advertise {figure.key!r} in its perfs "
                             f"(advertised: {', '.join(map(repr, perfs)) or 'none'}): nothing to compare with")
    else:
        try:
            advertised = float(perfs[figure.key]) / 100
        except (TypeError, ValueError):
            raise CloudJobError(f"the platform advertises {figure.key!r} as {perfs[figure.key]!r}, not a number") \
                from None
    body = wire.parse_results_text(actual)
    if body.get("results") is None:
        raise _DatasheetSpecError("the check reads one run's results (a batch's results_list is not read)")
    histogram = wire.parse_results(body["results"])
    counts = {state: float(v) for state, v in histogram.values.items() if v > 0}
    total = sum(counts.values())
    if total <= 0:
        raise _NotConclusive("the results are empty: no sample to estimate the figure from")
    coincidences = sum(v for state, v in counts.items() if _counted(state, mode))
    counted = "coincidences" if mode is None else f"clicks of detector {mode}"
    threshold = simulate.threshold_detectors(details)
    curve = _curve(context.payload, perfs, threshold, figure, advertised, margin, mode)
    ends = sorted((curve["low_end"], curve["high_end"]))
    perf = body.get("physical_perf")
    physical_perf = float(perf) if isinstance(perf, (int, float)) and _is_number(perf) else None
    if not histogram.is_counts:  # probabilities: no sampling noise, c is known exactly
        c = coincidences / total
        p_value = 1.0 if ends[0] - 1e-9 <= c <= ends[1] + 1e-9 else 0.0
        estimate = _inverse(curve, c)
        return Finding(figure, advertised, margin, round(c * 1e6), 10 ** 6, estimate, (estimate, estimate), level,
                       p_value, (ends[0], ends[1]), physical_perf, "probabilities: no sampling noise", counted)
    x, n = int(round(coincidences)), int(round(total))
    p_value = binomial_p_value(x, n, ends[0], ends[1])
    c_low, c_high = clopper_pearson(x, n, level)
    bounds = sorted((_inverse(curve, c_low), _inverse(curve, c_high)))
    return Finding(figure, advertised, margin, x, n, _inverse(curve, x / n), (bounds[0], bounds[1]), level, p_value,
                   (ends[0], ends[1]), physical_perf, note, counted)


def _detector_figure(perfs: Mapping[str, Any], mode: int, platform: Any) -> tuple[Figure, float]:
    """Detector ``mode``'s figure and its advertised efficiency relative to the best (Perceval's per-mode form)."""
    from pytest_cloudjob.physics import simulate

    try:
        efficiencies = simulate.detector_efficiencies(perfs)
    except simulate.PhysicsError as exc:  # the platform's own details: the cloud's mistake
        raise CloudJobError(str(exc)) from None
    key = simulate.PER_MODE_KEY
    if efficiencies is None:
        raise _NotConclusive(f"platform {platform} does not advertise its detectors' efficiencies ({key!r} with "
                             f"{simulate.OUT_KEY!r}, Perceval's per-mode form): nothing to compare with")
    if mode >= len(efficiencies):
        raise _NotConclusive(f"platform {platform} advertises {simulate.OUT_KEY!r} for {len(efficiencies)} modes, "
                             f"not for mode {mode}: nothing to compare with")
    figure = Figure(f"detector_efficiency[{mode}]", f"{key} {simulate.OUT_KEY}[{mode}]",
                    f"detector {mode} efficiency (relative to the best)", 0.02, 1.0)
    return figure, efficiencies[mode]


def _counted(state: str, mode: int | None) -> bool:
    """Whether a sample counts: a coincidence (two modes or more register photons), or a click of ``mode``."""
    if mode is None:
        return _occupied(state) >= 2
    modes = _modes(state)
    return mode < len(modes) and _holds_photons(modes[mode])


def clopper_pearson(x: int, n: int, alpha: float) -> tuple[float, float]:
    """The exact two-sided Clopper-Pearson interval for a binomial proportion at confidence 1 - alpha."""
    low = 0.0 if x == 0 else betaincinv(x, n - x + 1, alpha / 2)
    high = 1.0 if x == n else betaincinv(x + 1, n - x, 1 - alpha / 2)
    return low, high


def binomial_p_value(x: int, n: int, c_low: float, c_high: float) -> float:
    """The smallest alpha at which Binomial(n, c) data x reject every c in [c_low, c_high] (two tails)."""
    above = betainc(x, n - x + 1, c_high) if x > 0 else 1.0  # P(X >= x | c_high): x too large
    below = 1.0 if x >= n else betaincc(x + 1, n - x, c_low)  # P(X <= x | c_low): x too small
    return min(1.0, 2 * min(above, below))


def _occupied(state: str) -> int:
    """How many modes of ``|1,0,1>`` hold photons (an annotated state counts its modes the same way)."""
    return sum(1 for mode in _modes(state) if _holds_photons(mode))


def _holds_photons(mode: str) -> bool:
    """Whether one mode's text (``1``, ``0``, ``{_:0}``) holds photons."""
    return mode.strip() not in ("", "0")


def _modes(state: str) -> list[str]:
    """The modes of ``|1,0,1>`` as text, one per mode (annotations such as ``{_:0}`` kept whole)."""
    inner = state.strip()[1:-1] if state.strip().startswith("|") else state
    depth, modes, current = 0, [], ""
    for char in inner:  # split on the commas between modes, not inside annotations such as {_:0}
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            modes.append(current)
            current = ""
        else:
            current += char
    modes.append(current)
    return modes


def _curve(payload: Mapping[str, Any], perfs: Mapping[str, Any], threshold: bool, figure: Figure,
           advertised: float, margin: float, mode: int | None = None) -> dict[str, Any]:
    """c(theta) of the job's experiment over the figure's range, and at the ends of the margin (cached)."""
    entry = cache.key("datasheet-curve", [payload, dict(perfs), threshold, figure.name, advertised, margin, GRID, mode])
    kept = cache.get(entry)
    if isinstance(kept, dict) and {"thetas", "values", "low_end", "high_end"} <= set(kept):
        return kept
    from pytest_cloudjob.physics import simulate

    try:
        runs = simulate.runs_of(payload)
    except simulate.PhysicsError as exc:
        raise _DatasheetSpecError(str(exc)) from None
    if len(runs) != 1:
        raise _DatasheetSpecError(f"the payload asks for {len(runs)} runs; the check reads one")
    experiment = runs[0].experiment
    if experiment.noise is not None:
        raise _DatasheetSpecError("the experiment carries its own noise model, so its results say nothing of the "
                                 "platform's figures: send it without one")
    if mode is not None and mode >= experiment.m:
        raise _DatasheetSpecError(f"mode {mode} is not a mode of the experiment (it has {experiment.m})")
    thetas = [figure.low + (figure.high - figure.low) * i / (GRID - 1) for i in range(GRID)]
    values = [_coincidence(experiment, perfs, threshold, figure, t, mode) for t in thetas]
    if max(values) - min(values) < FLAT or not (_monotone(values, 1) or _monotone(values, -1)):
        raise _DatasheetSpecError(f"this experiment does not identify the {figure.label}: its coincidence fraction "
                                 f"is not strictly monotone in it ({values[0]:.3g} to {values[-1]:.3g}); docs/physics.md "
                                 "names an experiment for each figure")
    low = max(figure.low, advertised - margin)
    high = min(figure.high, advertised + margin)
    kept = {"thetas": thetas, "values": values, "low_end": _coincidence(experiment, perfs, threshold, figure, low, mode),
            "high_end": _coincidence(experiment, perfs, threshold, figure, high, mode)}
    cache.put(entry, kept)
    return kept


def _coincidence(experiment: Any, perfs: Mapping[str, Any], threshold: bool, figure: Figure, theta: float,
                 mode: int | None = None) -> float:
    """The model's coincidence fraction (or detector ``mode``'s click fraction) with the figure at ``theta`` and
    the other advertised figures and detectors as they are."""
    from pytest_cloudjob.physics import simulate

    model = {k: float(v) for k, v in perfs.items() if k in simulate.PERF_KEYS}
    efficiencies = simulate.detector_efficiencies(perfs)
    if mode is not None:  # detector ``mode`` at theta, the others as advertised
        relative = list(efficiencies or ()) + [1.0] * max(0, experiment.m - len(efficiencies or ()))
        relative[mode] = theta
        efficiencies = tuple(relative)
    elif figure.name == "detector_efficiency":  # a uniform efficiency is a loss before the detectors
        model[TRANSMITTANCE_KEY] = model.get(TRANSMITTANCE_KEY, 100.0) * theta
    else:
        model[figure.key] = 100 * theta
    exact = simulate.exact(experiment, noise=simulate.noise_of_perfs(model), threshold=threshold, bound_unlisted=False,
                           efficiencies=efficiencies)
    total = sum(exact.probs.values())
    if total <= 0:
        return 0.0
    return sum(p for state, p in exact.probs.items() if _counted(state, mode)) / total


def _monotone(values: list[float], sign: int) -> bool:
    return all(sign * (b - a) > 0 for a, b in zip(values, values[1:]))


def _inverse(curve: Mapping[str, Any], c: float) -> float:
    """The figure whose model coincidence fraction is ``c`` (linear between grid points, clipped to the range)."""
    thetas, values = curve["thetas"], curve["values"]
    if values[0] > values[-1]:
        thetas, values = thetas[::-1], values[::-1]
    if c <= values[0]:
        return float(thetas[0])
    for (t0, v0), (t1, v1) in zip(zip(thetas, values), zip(thetas[1:], values[1:])):
        if c <= v1:
            return float(t0 + (t1 - t0) * (c - v0) / (v1 - v0))
    return float(thetas[-1])


def confidence(level: float) -> str:
    """The confidence 1 - ``level`` in percent, with the digits that tell it from 100 % (99.9999 % at 1e-6)."""
    digits = max(0, -math.floor(math.log10(level))) if level > 0 else 0
    return f"{100 * (1 - level):.{max(0, digits - 2)}f} %"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
