"""How dear is the physics at 12 modes / 6 photons (12,376 outcomes), against Perceval's own SLOS?

    python benchmarks/physics_speed.py             # 15 repeats of each row, about 20 s
    python benchmarks/physics_speed.py --repeats 5

Each row is the least CPU time (``time.process_time``) over the repeats, the rows called in turn in each
round (a burst of other load falls on all of them), in one process, Perceval imported
and warmed up first, the physics cache off (``CLOUDJOB_PHYSICS_CACHE=off``: every row computes) except the
last two rows (the cache in a fresh folder, filled by one call first):

- **Perceval's SLOS**: ``pcvl.Processor("SLOS", experiment).probs()``, what a Perceval user runs to get the
  distribution (its default precision), the yardstick;
- **the check**: ``check_distribution`` of a 10,000-shot ``sample_count`` result against the ``ideal``
  reference, as a scenario's ``distribution`` step runs it: the reference computed (this pure experiment
  by Perceval's SLOS back-end, ``physics/pure.py``, into a ``physics/table.py`` table), the results read,
  both statistical bounds; and the same as the first check of its state space in a process (the
  back-end's arrays and the states' texts laid out again each time);
- **the check's statistics alone** (``stats.compare``, passing, so no diagnostic G-test) and the same on a
  failing histogram (the G-test then computed, as the failure text shows it);
- **the cloud's job**: ``server/results.make_results``, what the reference cloud's simulation worker does for
  such a job (read the experiment once, simulate, sample, write Perceval's ``BSCount`` text).

The experiment: a Haar-random 12-mode unitary (seed 1234, ``tests/physics/physics_jobs.py``), one photon in
each of the first 6 modes, 6 photons detected, on an ideal platform (a noisy 12 x 6 reference on ``qpu:qa``
takes SLOS minutes: no scenario sends one).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["CLOUDJOB_PHYSICS_CACHE"] = "off"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "physics"))

MODES, PHOTONS, SHOTS = 12, 6, 10_000


def least_cpu(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Each row's least CPU seconds over ``repeats`` rounds, every round calling each row once in turn: the
    machine's other load only ever adds, and a burst of it falls on every row alike, not on one."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - started)
    return best


def experiment() -> Any:
    import perceval as pcvl
    from physics_jobs import haar_unitary

    built = pcvl.Experiment()
    built.set_circuit(pcvl.Unitary(haar_unitary(MODES)))
    built.with_input(pcvl.BasicState([1] * PHOTONS + [0] * (MODES - PHOTONS)))
    built.min_detected_photons_filter(PHOTONS)
    return built


def measure(repeats: int) -> dict[str, float]:
    import perceval as pcvl
    from perceval.serialization import serialize

    from pytest_cloudjob.physics import distribution, stats, wire
    from pytest_cloudjob.server import results

    built = experiment()
    payload = {"command": "sample_count", "experiment": serialize(built), "max_shots": SHOTS}
    text = results.make_results(payload, 1, "bench", platform_details=dict)  # warms up every import too
    counts = {state: int(c) for state, c in wire.parse_results(wire.parse_results_text(text)["results"]).values.items()}
    reference = distribution._compute_references("ideal", payload, {}, False, False)[0].probs
    wrong = dict(counts)
    top = max(wrong, key=lambda s: wrong[s])
    wrong[top] += SHOTS // 10  # a tenth of the shots more on the likeliest outcome: the check fails
    context = distribution.DistributionContext(payload, dict)
    spec = {"reference": "ideal"}
    assert not distribution.check_distribution(text, spec, "results", context), "an honest job must pass"
    assert not stats.compare(wrong, reference).passed
    return {
        "outcomes": float(len(reference)),
        **least_cpu({
            "slos": lambda: pcvl.Processor("SLOS", built).probs(),
            "check": lambda: distribution.check_distribution(text, spec, "results", context),
            "check_first": lambda: first_of_its_space(text, spec, context),
            "compare": lambda: stats.compare(counts, reference),
            "compare_failing": lambda: stats.compare(wrong, reference),
            "cloud_job": lambda: results.make_results(payload, 1, "bench", platform_details=dict),
        }, repeats),
        **warm(text, spec, context, payload, repeats),
    }


def first_of_its_space(text: str, spec: dict[str, Any], context: Any) -> list[str]:
    """The check as the first one of its modes x photons in a process: nothing of ``physics/pure.py`` kept."""
    from pytest_cloudjob.physics import distribution

    try:
        from pytest_cloudjob.physics import pure
    except ImportError:  # a commit before physics/pure.py: nothing kept to clear
        pass
    else:
        pure._backend.cache_clear()
        pure._layout.cache_clear()
    return distribution.check_distribution(text, spec, "results", context)


def warm(text: str, spec: dict[str, Any], context: Any, payload: dict[str, Any], repeats: int) -> dict[str, float]:
    """The check and the cloud's job with the physics cache on and filled (every run after a machine's first)."""
    from pytest_cloudjob.physics import distribution
    from pytest_cloudjob.server import results

    os.environ["CLOUDJOB_PHYSICS_CACHE"] = tempfile.mkdtemp(prefix="physics-speed-")
    try:
        distribution.check_distribution(text, spec, "results", context)  # fills the cache
        results.make_results(payload, 1, "bench", platform_details=dict)
        return least_cpu({"check_warm": lambda: distribution.check_distribution(text, spec, "results", context),
                          "cloud_job_warm": lambda: results.make_results(payload, 1, "bench", platform_details=dict)},
                         repeats)
    finally:
        os.environ["CLOUDJOB_PHYSICS_CACHE"] = "off"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    row = measure(args.repeats)
    slos = row["slos"]
    print(f"## Physics at {MODES} modes / {PHOTONS} photons ({row['outcomes']:,.0f} outcomes), least CPU of "
          f"{args.repeats} repeats, physics cache off\n")
    print("| what | CPU ms | × Perceval's SLOS |\n|---|---:|---:|")
    for key, what in (("slos", "Perceval's SLOS (`Processor(\"SLOS\", e).probs()`)"),
                      ("check", f"the `distribution` check, `ideal` reference, {SHOTS:,} shots (reference computed)"),
                      ("check_first", "the same check, the first of its modes x photons in the process"),
                      ("compare", "its statistics alone (`stats.compare`, passing)"),
                      ("compare_failing", "its statistics on a failing histogram (G-test diagnostic included)"),
                      ("cloud_job", "the cloud's job (`make_results`: read, simulate, sample, write)"),
                      ("check_warm", "the check, its reference read from the physics cache"),
                      ("cloud_job_warm", "the cloud's job, its plan read from the physics cache")):
        print(f"| {what} | {1000 * row[key]:.1f} | {row[key] / slos:.2f} |")


if __name__ == "__main__":
    main()
