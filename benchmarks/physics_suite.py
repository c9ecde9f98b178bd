"""What the physics extra costs the shipped suite: `pytest scenarios` with and without Perceval, interleaved.

    python benchmarks/physics_suite.py              # 3 rounds of the three variants, about 2 minutes
    python benchmarks/physics_suite.py --rounds 5

Each round runs, one after the other (so a busy machine weighs on every variant alike):

- **without Perceval**: Perceval hidden as when it is not installed (the meta-path finder of
  ``tests/physics/test_without_perceval.py``, in a ``sitecustomize`` on ``PYTHONPATH``, so the run and its
  embedded cloud both lack it): the physics scenarios skip;
- **with Perceval, cache warm**: the physics cache in a folder of this benchmark, filled by a first run that
  is not counted (what every run after the first on a machine meets);
- **with Perceval, cache cold**: an empty physics cache folder each time (a fresh machine's first run): the
  entries the package ships (``physics/seed.json``) are what it reads;
- **with Perceval, cache cold, no seed**: the same with ``CLOUDJOB_PHYSICS_SEED=off`` (everything computed).

CPU is user + system of the pytest process and every process it waited for (the embedded cloud, its
simulation worker): ``resource.getrusage(RUSAGE_CHILDREN)`` before and after, as ``/usr/bin/time`` reports.
"""
from __future__ import annotations

import argparse
import importlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "physics"))
#: The finder that hides Perceval as when it is not installed: the one the project's own test uses.
HIDE_PERCEVAL: str = importlib.import_module("test_without_perceval").HIDE_PERCEVAL


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(env: dict[str, str]) -> tuple[float, float, str]:
    """CPU seconds, wall seconds and the summary line of one ``pytest scenarios`` run."""
    before, started = children_cpu(), time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    wall, cpu = time.monotonic() - started, children_cpu() - before
    lines = [line for line in done.stdout.splitlines() if " in " in line and ("passed" in line or "failed" in line)]
    return cpu, wall, lines[-1] if lines else f"exit {done.returncode}: {done.stdout[-300:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="physics-suite-"))
    shadow = work / "no_perceval"
    shadow.mkdir()
    (shadow / "sitecustomize.py").write_text(HIDE_PERCEVAL)
    base = {**os.environ, "PYTHONPATH": str(ROOT)}
    base.pop("CLOUDJOB_PHYSICS_SEED", None)
    warm = {**base, "CLOUDJOB_PHYSICS_CACHE": str(work / "warm")}
    run_suite(warm)  # fills the warm cache: not counted
    variants: dict[str, list[tuple[float, float, str]]] = {"without Perceval": [], "with Perceval, cache warm": [],
                                                           "with Perceval, cache cold": [],
                                                           "with Perceval, cache cold, no seed": []}
    for round_ in range(args.rounds):
        cold = {**base, "CLOUDJOB_PHYSICS_CACHE": str(work / f"cold-{round_}")}
        unseeded = {**base, "CLOUDJOB_PHYSICS_CACHE": str(work / f"unseeded-{round_}"), "CLOUDJOB_PHYSICS_SEED": "off"}
        for name, env in (("without Perceval", {**base, "PYTHONPATH": f"{shadow}{os.pathsep}{ROOT}"}),
                          ("with Perceval, cache warm", warm), ("with Perceval, cache cold", cold),
                          ("with Perceval, cache cold, no seed", unseeded)):
            variants[name].append(run_suite(env))
            print(f"round {round_ + 1} {name}: {variants[name][-1][0]:.2f} s CPU, {variants[name][-1][1]:.1f} s wall; "
                  f"{variants[name][-1][2]}", flush=True)
    baseline = statistics.median(cpu for cpu, _, _ in variants["without Perceval"])
    print(f"\n| run of `pytest scenarios` | CPU s ({args.rounds} interleaved runs) | median | × without Perceval | "
          "wall s (median) | result |\n|---|---|---:|---:|---:|---|")
    for name, runs in variants.items():
        cpus = [cpu for cpu, _, _ in runs]
        print(f"| {name} | {', '.join(f'{c:.2f}' for c in cpus)} | {statistics.median(cpus):.2f} | "
              f"{statistics.median(cpus) / baseline:.2f} | {statistics.median(w for _, w, _ in runs):.1f} | {runs[-1][2]} |")


if __name__ == "__main__":
    main()
