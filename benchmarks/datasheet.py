"""Datasheet checks (issue 20 item 4): false-alarm rate on honest results, kill rate of each drift defect, shots.

    python benchmarks/datasheet.py             # 1000 honest draws per row, 1000 per defect; about a minute
    python benchmarks/datasheet.py --quick     # 100 of each
    python benchmarks/datasheet.py --runs 4000 # more draws per row (about 6 minutes)

Honest results are drawn from the distribution Perceval's ``Naive`` back-end computes (permanents, precision
1e-14) for each shipped datasheet scenario on each platform, never from the SLOS model the check uses; each draw
is checked as shipped, at a calibration alpha of 1e-2 (the observed red rate must be at most alpha), and so are
draws from the worst honest device, its figure at an end of the margin (there the bound is tight). Kill rate:
draws from each ``--break`` drift's distribution on ``qpu:qa`` (Naive, the drifted perfs), checked as shipped
at alpha 1e-6 (the default level of a check) and at 1e-8. Shots: the fewest shots at which a drift is caught with
probability 0.9 at alpha 1e-6, from the exact binomial law of the coincidence count.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "physics"))

SEED = 20261202


def naive(experiment: Any, details: dict[str, Any]) -> dict[str, float]:
    """The distribution of a shot (an event with at least one photon) by Perceval's Naive back-end."""
    import perceval as pcvl

    from pytest_cloudjob.physics import simulate

    prepared = simulate.prepared(experiment, noise=simulate.noise_of_perfs(details["perfs"]),
                                 threshold=simulate.threshold_detectors(details),
                                 efficiencies=simulate.detector_efficiencies(details["perfs"]))
    result = pcvl.Processor("Naive", prepared.copy()).probs(precision=1e-14)
    probs = {str(s): float(p) for s, p in result["results"].items() if p > 0}
    total = sum(probs.values())
    return {s: p / total for s, p in probs.items()}


def draws(probs: dict[str, float], shots: int, runs: int, generator: Any) -> list[str]:
    import numpy

    from pytest_cloudjob.physics import wire

    states = list(probs)
    weights = numpy.fromiter(probs.values(), dtype=float)
    weights /= weights.sum()
    return [json.dumps({"results": wire.bscount({s: int(c) for s, c in zip(states, generator.multinomial(shots, weights))
                                                 if c})}) for _ in range(runs)]


def advertised_of(spec: dict[str, Any], perfs: dict[str, Any]) -> float:
    """The advertised value a check compares with (a detector's: its efficiency relative to the best)."""
    from pytest_cloudjob.physics import datasheet

    if spec.get("mode") is not None:
        return datasheet._detector_figure(perfs, spec["mode"], "")[1]
    return float(perfs[datasheet.FIGURES[spec["figure"]].key]) / 100


def device_at(details: dict[str, Any], spec: dict[str, Any], value: float) -> dict[str, Any]:
    """``details`` of a device whose checked figure is ``value`` (a detector's: its mode's t_out)."""
    from pytest_cloudjob.physics import datasheet, simulate

    perfs = dict(details["perfs"])
    if spec.get("mode") is not None:
        best = max(perfs[simulate.PER_MODE_KEY][simulate.OUT_KEY])
        t_out = list(perfs[simulate.PER_MODE_KEY][simulate.OUT_KEY])
        t_out[spec["mode"]] = best * value
        perfs[simulate.PER_MODE_KEY] = {simulate.OUT_KEY: t_out}
    else:
        perfs[datasheet.FIGURES[spec["figure"]].key] = round(100 * value, 6)
    return {**details, "perfs": perfs}


def described(perfs: dict[str, Any]) -> str:
    """A short text of a device's perfs (the per-mode form as the detectors below the best)."""
    from pytest_cloudjob.physics import simulate

    parts = [f"{k.split(' ')[0]} {v:g}" for k, v in perfs.items() if isinstance(v, (int, float))]
    efficiencies = simulate.detector_efficiencies(perfs) or ()
    parts += [f"detector {m} {e:.2f}" for m, e in enumerate(efficiencies) if e < 1]
    return ", ".join(parts)


def upper_95(failures: int, runs: int) -> float:
    from pytest_cloudjob.physics.datasheet import clopper_pearson

    return clopper_pearson(failures, runs, 0.1)[1]  # one-sided 95 %


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 draws per row")
    parser.add_argument("--runs", type=int, default=1000, help="draws per row (default 1000)")
    parser.add_argument("--end-to-end", type=int, default=0, metavar="JOBS",
                        help="also send JOBS jobs of each check to an honest and to each broken reference cloud")
    args = parser.parse_args()
    runs = 100 if args.quick else args.runs
    os.environ.setdefault("CLOUDJOB_PHYSICS_CACHE", tempfile.mkdtemp(prefix="datasheet-bench-"))
    import numpy
    from test_datasheet import CAUGHT_BY, CHECKS  # type: ignore[import-not-found]

    from pytest_cloudjob.physics import datasheet, simulate
    from pytest_cloudjob.physics.distribution import DistributionContext
    from pytest_cloudjob.server.defects import drifted_perfs
    from pytest_cloudjob.server.platforms import default_platforms

    generator = numpy.random.default_rng(SEED)
    started = time.monotonic()
    print(f"## Honest draws (Perceval Naive), checked as shipped at alpha = 1e-2 ({runs} per row)\n")
    print("| figure | platform | shots | advertised | mean estimate | red | not conclusive | red rate | 95 % upper bound |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for figure, (payload, spec) in CHECKS.items():
        for name in ("sim:qa", "qpu:qa"):
            details = default_platforms()[name].details()
            context = DistributionContext(payload, functools.partial(dict, details), run_level=1e-2)
            run = simulate.runs_of(payload)[0]
            red = unsure = 0
            estimates = []
            for text in draws(naive(run.experiment, details), int(run.max_shots or 1000), runs, generator):
                problems, report = datasheet.check_datasheet(text, spec, "results", context)
                unsure += int(bool(problems) and all(getattr(p, "is_inconclusive", False) for p in problems))
                red += int(bool(problems) and not getattr(problems[0], "is_inconclusive", False))
                estimates.append(float(report.split(" estimated ")[1].split(",")[0]) if report else math.nan)
            advertised = advertised_of(spec, details["perfs"])
            print(f"| {figure} | {name} | {run.max_shots:,} | {advertised:.2f} | {numpy.nanmean(estimates):.4f} | {red} "
                  f"| {unsure} | {red / runs:.4f} | {upper_95(red, runs):.4f} |")
    print(f"\n## The worst honest device: the figure at an end of the margin on qpu:qa, alpha = 1e-2 ({runs} per row)\n")
    print("| figure | device's figure | shots | red | red rate | 95 % upper bound |")
    print("|---|---:|---:|---:|---:|---:|")
    qpu = default_platforms()["qpu:qa"].details()
    for figure, (payload, spec) in CHECKS.items():
        fig = datasheet.FIGURES[spec["figure"]]
        advertised = advertised_of(spec, qpu["perfs"])
        context = DistributionContext(payload, lambda: qpu, run_level=1e-2)
        run = simulate.runs_of(payload)[0]
        for edge in (advertised - spec["margin"], advertised + spec["margin"]):
            if not fig.low <= edge <= fig.high:
                continue
            device = device_at(qpu, spec, edge)
            texts = draws(naive(run.experiment, device), int(run.max_shots or 1000), runs, generator)
            red = sum(bool(datasheet.check_datasheet(t, spec, "results", context)[0]) for t in texts)
            print(f"| {figure} | {edge:.3f} | {run.max_shots:,} | {red} | {red / runs:.4f} | {upper_95(red, runs):.4f} |")
    unequal = [100.0, 90.0, 80.0, 95.0] + [100.0] * 8
    print(f"\n## Unequal detectors, advertised as they are (t_out {unequal[:4]}, the rest 100): qpu:qa's other "
          f"figures, alpha = 1e-2 ({runs} per row)\n")
    print("| check | advertised | shots | red | red rate | 95 % upper bound |")
    print("|---|---:|---:|---:|---:|---:|")
    device = {**qpu, "perfs": {**qpu["perfs"], simulate.PER_MODE_KEY: {simulate.OUT_KEY: unequal}}}
    for figure, (payload, spec) in CHECKS.items():
        context = DistributionContext(payload, lambda: device, run_level=1e-2)
        run = simulate.runs_of(payload)[0]
        texts = draws(naive(run.experiment, device), int(run.max_shots or 1000), runs, generator)
        red = sum(bool(datasheet.check_datasheet(t, spec, "results", context)[0]) for t in texts)
        print(f"| {figure} | {advertised_of(spec, device['perfs']):.2f} | {run.max_shots:,} | {red} | {red / runs:.4f} "
              f"| {upper_95(red, runs):.4f} |")
    print(f"\n## Drift defects on qpu:qa alone, checked as shipped ({runs} draws each)\n")
    print("| defect | device's perfs | check | shots | margin | killed at alpha 1e-6 | killed at alpha 1e-8 |")
    print("|---|---|---|---:|---:|---:|---:|")
    for defect, figure in CAUGHT_BY.items():
        payload, spec = CHECKS[figure]
        real = {**qpu, "perfs": drifted_perfs(dict(qpu["perfs"]), frozenset({defect}))}
        run = simulate.runs_of(payload)[0]
        texts = draws(naive(run.experiment, real), int(run.max_shots or 1000), runs, generator)
        killed = {}
        for level in (1e-6, 1e-8):
            context = DistributionContext(payload, lambda: qpu, run_level=level)
            killed[level] = sum(bool(datasheet.check_datasheet(t, spec, "results", context)[0]) for t in texts)
        drift = described(real["perfs"])
        print(f"| `{defect}` | {drift} | {figure} | {run.max_shots:,} | {spec['margin']} | "
              f"{killed[1e-6]} / {runs} ({killed[1e-6] / runs:.3f}) | {killed[1e-8]} / {runs} ({killed[1e-8] / runs:.3f}) |")
    print("\n## Shots for a power of 0.9 at alpha 1e-6 (exact binomial law of the coincidence count, qpu:qa)\n")
    print("| figure | advertised | margin | true figure | c at the margin | c true | shots |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for figure, margin, true in (("transmittance", 0.05, 0.25), ("transmittance", 0.05, 0.40),
                                 ("transmittance", 0.02, 0.45), ("hom", 0.02, 0.87), ("hom", 0.01, 0.89),
                                 ("hom", 0.02, 0.85), ("g2", 0.01, 0.05), ("g2", 0.01, 0.04), ("g2", 0.005, 0.03),
                                 ("detector_efficiency[2]", 0.05, 0.85), ("detector_efficiency[2]", 0.05, 0.90),
                                 ("detector_efficiency[2]", 0.02, 0.95)):
        payload, spec = CHECKS[figure]
        mode = spec.get("mode")
        fig = datasheet.FIGURES[spec["figure"]] if mode is None else datasheet._detector_figure(qpu["perfs"], mode, "")[0]
        advertised = advertised_of(spec, qpu["perfs"])
        curve = datasheet._curve(payload, qpu["perfs"], True, fig, advertised, margin, mode)
        worse = true < advertised
        c_edge = curve["low_end"] if worse else curve["high_end"]
        c_true = datasheet._coincidence(simulate.runs_of(payload)[0].experiment, qpu["perfs"], True, fig, true, mode)
        print(f"| {figure} | {advertised:.2f} | {margin} | {true:.2f} | {c_edge:.5f} | {c_true:.5f} | "
              f"{shots_for(c_edge, c_true, 1e-6, 0.9):,} |")
    if args.end_to_end:
        end_to_end(args.end_to_end, CHECKS, CAUGHT_BY)
    print(f"\n({time.monotonic() - started:.0f} s)")


def end_to_end(jobs: int, checks: dict[str, Any], caught_by: dict[str, str]) -> None:
    """Jobs sent to reference clouds (honest, then one per drift defect) and checked as shipped: the cloud's
    own sampling, shots and platform details, end to end, on qpu:qa."""
    from physics_jobs import submit

    from pytest_cloudjob.physics import datasheet
    from pytest_cloudjob.server.process import start_reference_cloud

    quick = ["--run-time", "qpu:qa=0.02", "--run-time", "sim:qa=0.02"]
    folder = Path(tempfile.mkdtemp(prefix="datasheet-e2e-"))
    print(f"\n## End to end on the reference cloud's qpu:qa ({jobs} jobs per row)\n")
    print("| cloud | check | alpha | red | red rate |")
    print("|---|---|---:|---:|---:|")
    rows = [(None, figure, 1e-2) for figure in checks] + [(d, f, 1e-6) for d, f in caught_by.items()]
    for defect, figure, level in rows:
        cloud = start_reference_cloud(folder / f"{defect}.log", [*quick, *(["--break", defect] if defect else [])])
        try:
            payload, spec = checks[figure]
            red = 0
            for _ in range(jobs):
                text, context = submit(cloud, payload, platform="qpu:qa")
                context.run_level = level
                red += int(bool(datasheet.check_datasheet(text, spec, "results", context)[0]))
        finally:
            cloud.stop()
        name = f"`--break {defect}`" if defect else "honest"
        print(f"| {name} | {figure} | {level:g} | {red} / {jobs} | {red / jobs:.3f} |")


def shots_for(c_edge: float, c_true: float, alpha: float, power: float) -> int:
    """The fewest shots n at which Binomial(n, c_true) data reject c_edge (one tail at alpha/2) w.p. >= power."""
    from scipy.stats import binom  # type: ignore[import-untyped]

    def caught(n: int) -> float:
        if c_true > c_edge:
            x = int(binom.isf(alpha / 2, n, c_edge)) + 1  # smallest x with P(X >= x | c_edge) <= alpha/2
            return float(binom.sf(x - 1, n, c_true))
        x = int(binom.ppf(alpha / 2, n, c_edge)) - 1  # largest x with P(X <= x | c_edge) <= alpha/2
        return float(binom.cdf(x, n, c_true)) if x >= 0 else 0.0

    low, high = 1, 1
    while caught(high) < power:
        low, high = high, high * 2
    while high - low > max(1, high // 200):
        mid = (low + high) // 2
        low, high = (mid, high) if caught(mid) < power else (low, mid)
    return int(math.ceil(high / 100) * 100)


if __name__ == "__main__":
    main()
