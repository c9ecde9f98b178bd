"""Regenerate the charts of docs/reporting.md: the pictures a failing physics scenario attaches to its Allure step.

    python benchmarks/physics_chart.py                      # writes both images of docs/images/
    python benchmarks/physics_chart.py --only datasheet --out /tmp/chart.png

Each runs one shipped scenario of ``scenarios/physics.scenario.yaml`` with ``--alluredir`` against a reference
cloud that breaks the promise it checks, and copies the PNG attached to the scenario's results step out of the
Allure results folder:

- ``distribution`` (docs/images/distribution-chart.png): the Haar 6x3 scenario (10,000 shots, ``ideal``
  reference) on ``sim:qa``, the cloud started with ``--break swapped-modes`` (the output modes in reverse order);
- ``datasheet`` (docs/images/datasheet-chart.png): the g2 datasheet scenario (50,000 shots, margin 0.01) on
  ``qpu:qa``, the cloud started with ``--break g2-drifted`` (the device's g2 5 %, advertised 2 %).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV  # noqa: E402
from pytest_cloudjob.server.process import start_reference_cloud  # noqa: E402


class Chart(NamedTuple):
    scenario: str  # its name in scenarios/physics.scenario.yaml
    select: str  # pytest's -k
    platform: str
    defect: str
    image: str  # under docs/images/


CHARTS = {
    "distribution": Chart("a Haar-random 6-mode interferometer with 3 photons", "Haar and not probabilities",
                          "sim:qa", "swapped-modes", "distribution-chart.png"),
    "datasheet": Chart("datasheet: the g2 the platform advertises (Hanbury Brown-Twiss)", "datasheet and g2",
                       "qpu:qa", "g2-drifted", "datasheet-chart.png"),
}


def draw(chart: Chart, out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="physics-chart-"))
    cloud = start_reference_cloud(work / "cloud.log", ["--run-time", f"{chart.platform}=0.05", "--break", chart.defect])
    env = {**os.environ, "PYTHONPATH": str(ROOT), SETTINGS["url"].env: cloud.url,
           **{variable: cloud.tokens[role] for role, variable in TOKEN_ENV.items()}}
    try:
        shutil.copy(ROOT / "scenarios" / "physics.scenario.yaml", work / "physics.scenario.yaml")
        subprocess.run([sys.executable, "-m", "pytest", "physics.scenario.yaml", "-q", "-p", "no:cacheprovider",
                        "-k", chart.select, "--cloud-platform", chart.platform, "--alluredir", "allure"],
                       cwd=work, env=env, check=False, timeout=600)
    finally:
        cloud.stop()
    for path in (work / "allure").glob("*-result.json"):
        result = json.loads(path.read_text())
        if result["name"] != f"{chart.scenario} [{chart.platform}]":
            continue
        pending = list(result.get("steps", []))
        while pending:
            step = pending.pop()
            pending.extend(step.get("steps", []))
            for attachment in step.get("attachments", []):
                if attachment["type"] == "image/png":
                    shutil.copy(work / "allure" / attachment["source"], out)
                    print(f"{out}: {attachment['name']} (scenario {result['status']})")
                    return
    raise SystemExit(f"no chart of {chart.scenario!r} found in {work / 'allure'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(CHARTS), help="draw one chart (default: both)")
    parser.add_argument("--out", type=Path, help="where to write it (with --only; default: docs/images/)")
    args = parser.parse_args()
    if args.out is not None and args.only is None:
        parser.error("--out needs --only: it names one image")
    for name in [args.only] if args.only else sorted(CHARTS):
        chart = CHARTS[name]
        draw(chart, args.out or ROOT / "docs" / "images" / chart.image)


if __name__ == "__main__":
    main()
