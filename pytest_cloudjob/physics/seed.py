"""Write ``seed.json``: the physics cache entries of the shipped scenarios, shipped with the package.

    python -m pytest_cloudjob.physics.seed [SCENARIOS]    # default: ./scenarios

A fresh machine's first ``pytest scenarios`` would import Perceval in the pytest process (to compile the
experiments and compute the references) and in the embedded cloud (to assess and simulate each job), about
3.5 s of CPU each, and simulate every experiment: four times the CPU of the suite without physics. With the
seed those runs read what this command computed, on the reference cloud's platforms (``sim:qa`` alone, as
the README's first command runs, and ``sim:qa`` with ``qpu:qa``). Every entry is computed here, by the same
code as on any machine, into an empty cache folder with the seed ignored; the keys name their inputs, the
Perceval version and the code's digest, so after a change of the physics code the seed is only unused
until this command runs again (``tests/physics/test_seed.py`` says when).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_cloudjob.physics import cache

PLATFORM_SETS = ((), ("sim:qa", "qpu:qa"))  # the README's first command, and both platforms


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    scenarios = Path(args[0] if args else "scenarios")
    if not scenarios.is_dir():
        print(f"seed: {scenarios} is not a folder of scenarios", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="physics-seed-") as folder:
        env = {**os.environ, cache.CACHE_ENV: folder, cache.SEED_ENV: "off"}
        for platforms in PLATFORM_SETS:
            options = [arg for name in platforms for arg in ("--cloud-platform", name)]
            done = subprocess.run([sys.executable, "-m", "pytest", str(scenarios), "-q", "-p", "no:cacheprovider",
                                   *options], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"seed: pytest {scenarios} {' '.join(options)} failed:\n{done.stdout[-3000:]}", file=sys.stderr)
                return 1
        entries = {path.stem: json.loads(path.read_text(encoding="utf-8"))
                   for path in sorted(Path(folder).glob("*.json"))}
    seed = {"about": "Physics cache entries of the shipped scenarios, computed by python -m "
                     "pytest_cloudjob.physics.seed; found only for the same inputs, Perceval and code.",
            "version": cache.code_version(), "entries": entries}
    cache.SEED_PATH.write_text(json.dumps(seed, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"seed: {len(entries)} entries, {cache.SEED_PATH.stat().st_size} bytes, {cache.SEED_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
