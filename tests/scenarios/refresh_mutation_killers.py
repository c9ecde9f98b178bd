"""Refresh ``mutation-killers.json``: which test killed each catalogued defect in a full mutation run.

The catalogue test passes that file as ``--first-from``, so each defect run starts with its last killer and
stops after one test instead of ten (order only: a stale entry makes a run slower, never changes a verdict).
Run it after changing the shipped scenarios or the catalogue: ``python tests/scenarios/refresh_mutation_killers.py``
(a few minutes), or give it ``--json`` reports of the mutation command to trim instead."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
SHIPPED = HERE.parents[1] / "scenarios"
OUT = HERE / "mutation-killers.json"
ABOUT = ("Which test killed each catalogued defect in the last full mutation run of the shipped suite. The "
         "catalogue test passes it as --first-from: order only, a stale entry makes a run slower, never changes "
         "a verdict. Refresh: python tests/scenarios/refresh_mutation_killers.py")


def trimmed(reports: list[Path]) -> str:
    """The defect runs of ``reports`` with their non-transport failures' node ids only (no failure texts),
    one run per line (a refresh reads as a diff of killers)."""
    runs = [{"name": run["name"], "must_pass": False,
             "failures": [{"test": f["test"]} for f in run["failures"] if not f["transport"]]}
            for report in reports for run in json.loads(report.read_text())["runs"] if not run["must_pass"]]
    lines = ",\n".join(f"  {json.dumps(run)}" for run in runs)
    return f'{{"about": {json.dumps(ABOUT)},\n "runs": [\n{lines}\n]}}\n'


def fresh_report(folder: Path) -> Path:
    """A full mutation run (defects only) of a copy of the shipped suite, as the catalogue test runs it."""
    for path in [*SHIPPED.glob("*.scenario.yaml"), *SHIPPED.glob("test_*.py")]:
        shutil.copy(path, folder / path.name)
    report = folder / "mutation.json"
    subprocess.run([sys.executable, "-m", "pytest_cloudjob.mutation", ".", "--no-faults", "--json", str(report),
                    "--cloud-arg=--run-time=qpu:qa=0.3", "--", "--cloud-platform", "sim:qa", "--cloud-platform",
                    "qpu:qa"], cwd=folder, check=False)
    return report


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        reports = [Path(arg) for arg in sys.argv[1:]] or [fresh_report(Path(folder))]
        OUT.write_text(trimmed(reports))
    print(f"wrote {OUT}")
