"""The ``acceptance`` check (issue 20 item 5): false-alarm rate on honest results, kill rate of ``physical-perf-wrong``.

    python benchmarks/acceptance.py            # 2000 honest draws and 2000 broken ones per row; about a minute
    python benchmarks/acceptance.py --runs 200 # quicker

For each counts scenario of scenarios/physics.scenario.yaml (those shipped with ``acceptance`` and the others,
for more honest rows) on ``sim:qa`` and ``qpu:qa``, the truth comes from Perceval's ``Naive`` back-end
(permanents, precision 1e-14), never from the SLOS model the reference cloud uses: the probability ``perf`` that
an event passes the filters (``global_perf``) and the source's vacuum probability (``Source`` over the whole
input, where the check multiplies mode by mode). An honest job keeps ``kept ~ Binomial(max_shots, perf / (1 -
P(vacuum)))`` samples (numpy's binomial generator) spread over Naive's outcomes and reports ``physical_perf`` =
perf; each draw goes through ``check_acceptance`` as shipped, at a calibration alpha of 1e-2 (the observed red
rate must be at most alpha). Broken: the same draws reporting ``physical_perf`` = 0.8 perf (``--break
physical-perf-wrong``), checked at alpha 1e-6 (a check's default level) and 1e-8; the exact kill probability is
also computed from the binomial law. A run of the shipped suite on qpu:qa alone kills the defect when either
shipped acceptance check is red. Last, honest devices whose transmittance is at an end of the check's margin
(the composite null's worst case: red rate at most alpha) and one beyond it (red: the datasheet's business).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED = 20261203
SHIPPED = Path(__file__).resolve().parents[1] / "scenarios" / "physics.scenario.yaml"


def scenarios() -> list[tuple[str, dict[str, Any], bool]]:
    """(name, create payload, whether it ships an ``acceptance`` check) of each counts scenario, as loaded."""
    from pytest_cloudjob.scenarios.loader import load_documents
    from pytest_cloudjob.scenarios.model import parse_scenario

    out = []
    for index, document in enumerate(load_documents(SHIPPED)):
        scenario = parse_scenario(document, SHIPPED, index)
        payload = json.loads(json.dumps(next(s.args["payload"] for s in scenario.steps if s.kind == "create")))
        expect = next(s.args["expect"]["results"] for s in scenario.steps if s.kind == "results")
        if payload.get("command") == "sample_count" and "datasheet" not in expect:
            out.append((scenario.name, payload, "acceptance" in expect))
    return out


def truth(experiment: Any, details: dict[str, Any]) -> tuple[dict[str, float], float, float]:
    """Naive's distribution of a sample, the probability an event is one (perf), the source's vacuum probability."""
    import perceval as pcvl

    from pytest_cloudjob.physics import simulate

    prepared = simulate.prepared(experiment, noise=simulate.noise_of_perfs(details["perfs"]),
                                 threshold=simulate.threshold_detectors(details))
    result = pcvl.Processor("Naive", prepared.copy()).probs(precision=1e-14)
    probs = {str(s): float(p) for s, p in result["results"].items() if p > 0}
    source = pcvl.Source.from_noise_model(prepared.noise)
    vacuum = sum(float(p) for s, p in source.generate_distribution(prepared.input_state).items() if max(s.n) == 0)
    return probs, float(result["global_perf"]), vacuum


def texts(probs: dict[str, float], perf: float, kept: list[int], generator: Any) -> list[str]:
    import numpy

    from pytest_cloudjob.physics import wire

    states = list(probs)
    weights = numpy.fromiter(probs.values(), dtype=float)
    weights /= weights.sum()
    return [json.dumps({"results": wire.bscount({s: int(c) for s, c in zip(states, generator.multinomial(k, weights))
                                                 if c}), "physical_perf": perf, "logical_perf": 1.0}) for k in kept]


def exact_kill(shots: int, q_true: float, region: tuple[float, float], level: float) -> float:
    """P(the check is red) when kept ~ Binomial(shots, q_true) and the reported perf promises q in ``region``."""
    from scipy.stats import binom  # type: ignore[import-untyped]

    from pytest_cloudjob.physics.datasheet import binomial_p_value

    return float(sum(binom.pmf(x, shots, q_true) for x in range(shots + 1)
                     if binomial_p_value(x, shots, *region) <= level))


def upper_95(failures: int, runs: int) -> float:
    from pytest_cloudjob.physics.datasheet import clopper_pearson

    return clopper_pearson(failures, runs, 0.1)[1]  # one-sided 95 %


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="draws per row (default 2000)")
    args = parser.parse_args()
    runs = args.runs
    os.environ.setdefault("CLOUDJOB_PHYSICS_CACHE", tempfile.mkdtemp(prefix="acceptance-bench-"))
    import numpy

    from pytest_cloudjob.physics import simulate
    from pytest_cloudjob.physics.acceptance import DEFAULT_MARGIN, check_acceptance, evaluate
    from pytest_cloudjob.physics.distribution import DistributionContext
    from pytest_cloudjob.server.defects import PERF_REPORTED_FACTOR
    from pytest_cloudjob.server.platforms import default_platforms

    generator = numpy.random.default_rng(SEED)
    started = time.monotonic()
    qpu = default_platforms()["qpu:qa"].details()

    def row(name: str, payload: dict[str, Any], platform: str, device: float | None = None) -> list[bool]:
        """One row: honest draws at 1e-2 and broken ones at 1e-6 / 1e-8 (returns the broken verdicts at 1e-6).
        ``device``: the transmittance the device really has (the platform advertises its own)."""
        details = default_platforms()[platform].details()
        real = details if device is None else {**details, "perfs": {**details["perfs"], "Transmittance (%)": 100 * device}}
        run = simulate.runs_of(payload)[0]
        shots = int(run.max_shots or 1000)
        probs, perf, vacuum = truth(run.experiment, real)
        q = min(1.0, perf / (1 - vacuum))
        kept = [int(k) for k in generator.binomial(shots, q, size=runs)]
        red: dict[str, list[bool]] = {}
        finding = None
        for label, reported, level in (("honest", perf, 1e-2), ("1e-6", perf * PERF_REPORTED_FACTOR, 1e-6),
                                       ("1e-8", perf * PERF_REPORTED_FACTOR, 1e-8)):
            context = DistributionContext(payload, functools.partial(dict, details), run_level=level)
            red[label] = [bool(check_acceptance(t, {}, "results", context)[0])
                          for t in texts(probs, reported, kept, generator)]
            if label == "1e-6":
                finding = evaluate(texts(probs, reported, kept[:1], generator)[0], context, level)
        assert finding is not None
        honest = sum(red["honest"])
        exact = exact_kill(shots, q, finding.expected, 1e-6)
        true_t = "" if device is None else f" (T {device:g})"
        print(f"| {name[:40]} | {platform}{true_t} | {shots:,} | {perf:.5f} | {vacuum:.5f} | {q:.5f} | {honest} "
              f"| {honest / runs:.4f} | {upper_95(honest, runs):.4f} | {sum(red['1e-6'])} / {runs} | {exact:.4f} "
              f"| {sum(red['1e-8'])} / {runs} |")
        return red["1e-6"]

    print(f"## acceptance: honest draws (Naive truth, numpy binomial) at alpha 1e-2, broken ones (physical_perf x "
          f"{PERF_REPORTED_FACTOR}) at 1e-6 and 1e-8; {runs} draws per row\n")
    header = ("| scenario | platform | shots | perf | P(vacuum) | acceptance q | honest red | red rate | 95 % upper "
              "| killed at 1e-6 | exact at 1e-6 | killed at 1e-8 |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(header)
    survived_qpu = numpy.ones(runs, dtype=bool)
    shipped = [(n, p) for n, p, s in scenarios() if s]
    for name, payload, ships in scenarios():
        for platform in ("sim:qa", "qpu:qa"):
            verdicts = row(name + ("" if ships else " (not shipped)"), payload, platform)
            if ships and platform == "qpu:qa":
                survived_qpu &= ~numpy.array(verdicts)
    killed = runs - int(survived_qpu.sum())
    print(f"\n`physical-perf-wrong` on qpu:qa alone, the shipped acceptance checks at 1e-6: killed in {killed} / {runs} "
          f"draws ({killed / runs:.3f})")
    advertised = float(qpu["perfs"]["Transmittance (%)"]) / 100
    print(f"\n## The device's transmittance at the ends of the margin ({DEFAULT_MARGIN}) and beyond, qpu:qa "
          f"advertising {advertised:g}\n")
    print(header)
    for name, payload in shipped:
        for device in (advertised - DEFAULT_MARGIN, advertised + DEFAULT_MARGIN, advertised - 2 * DEFAULT_MARGIN):
            row(name, payload, "qpu:qa", round(device, 6))
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
