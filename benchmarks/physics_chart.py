"""Regenerate docs/images/distribution-chart.png: the chart a failing physics scenario attaches to its Allure step.

    python benchmarks/physics_chart.py                      # writes docs/images/distribution-chart.png
    python benchmarks/physics_chart.py --out /tmp/chart.png

Runs the shipped Haar 6x3 scenario (``scenarios/physics.scenario.yaml``, 10,000 shots, ``ideal`` reference) with
``--alluredir`` against a reference cloud started with ``--break swapped-modes`` (it reports the output modes in
reverse order), and copies the PNG attached to the scenario's results step out of the Allure results folder.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV  # noqa: E402
from pytest_cloudjob.server.process import start_reference_cloud  # noqa: E402

SCENARIO = "a Haar-random 6-mode interferometer with 3 photons"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "distribution-chart.png")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="physics-chart-"))
    cloud = start_reference_cloud(work / "cloud.log", ["--run-time", "sim:qa=0.05", "--break", "swapped-modes"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), SETTINGS["url"].env: cloud.url,
           **{variable: cloud.tokens[role] for role, variable in TOKEN_ENV.items()}}
    try:
        shutil.copy(ROOT / "scenarios" / "physics.scenario.yaml", work / "physics.scenario.yaml")
        subprocess.run([sys.executable, "-m", "pytest", "physics.scenario.yaml", "-q", "-p", "no:cacheprovider",
                        "-k", "Haar and not probabilities", "--cloud-platform", "sim:qa", "--alluredir", "allure"],
                       cwd=work, env=env, check=False, timeout=600)
    finally:
        cloud.stop()
    for path in (work / "allure").glob("*-result.json"):
        result = json.loads(path.read_text())
        if result["name"] != SCENARIO:
            continue
        pending = list(result.get("steps", []))
        while pending:
            step = pending.pop()
            pending.extend(step.get("steps", []))
            for attachment in step.get("attachments", []):
                if attachment["type"] == "image/png":
                    shutil.copy(work / "allure" / attachment["source"], args.out)
                    print(f"{args.out}: {attachment['name']} (scenario {result['status']})")
                    return
    raise SystemExit(f"no chart found in {work / 'allure'}")


if __name__ == "__main__":
    main()
