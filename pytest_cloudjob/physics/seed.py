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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_cloudjob.physics import cache

PLATFORM_SETS = ((), ("sim:qa", "qpu:qa"))  # the README's first command, and both platforms


def computed_by(runs: list[list[str]], *, seed: bool, env: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> dict[str, Any] | str:
    """The cache entries that ``pytest <run>`` for each of ``runs`` computes, one after the other, in an empty
    cache folder (the shipped seed read or not, as ``seed`` says), by name; or, when a run fails, its output's end.
    How the seed and the tests' warm cache (``tests/warm_cache.py``) are both written."""
    with tempfile.TemporaryDirectory(prefix="physics-entries-") as folder:
        changed = {**os.environ, **(env or {}), cache.CACHE_ENV: folder}
        if seed:
            changed.pop(cache.SEED_ENV, None)
        else:
            changed[cache.SEED_ENV] = "off"
        for run in runs:
            done = subprocess.run([sys.executable, "-m", "pytest", *run, "-q", "-p", "no:cacheprovider"], cwd=cwd,
                                  env=changed, capture_output=True, text=True)
            if done.returncode != 0:
                return f"pytest {' '.join(run)} failed:\n{done.stdout[-3000:]}"
        return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(Path(folder).glob("*.json"))}


def write(path: Path, about: str, version: str, entries: Mapping[str, Any]) -> str:
    """Write ``entries`` to ``path`` as the seed's form (``about``, ``version``, ``entries``); a line saying so."""
    path.write_text(json.dumps({"about": about, "version": version, "entries": entries}, sort_keys=True,
                               separators=(",", ":")) + "\n", encoding="utf-8")
    return f"{len(entries)} entries, {path.stat().st_size} bytes, {path}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    scenarios = Path(args[0] if args else "scenarios")
    if not scenarios.is_dir():
        print(f"seed: {scenarios} is not a folder of scenarios", file=sys.stderr)
        return 2
    entries = computed_by([[str(scenarios), *(arg for name in platforms for arg in ("--cloud-platform", name))]
                           for platforms in PLATFORM_SETS], seed=False)
    if isinstance(entries, str):
        print(f"seed: {entries}", file=sys.stderr)
        return 1
    print("seed: " + write(cache.SEED_PATH, "Physics cache entries of the shipped scenarios, computed by python -m "
                           "pytest_cloudjob.physics.seed; found only for the same inputs, Perceval and code.",
                           cache.code_version(), entries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
