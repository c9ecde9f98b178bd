"""docs/examples/physics/experiment.scenario.yaml, the example of experiments written as components, runs
green on the ideal platform, and docs/physics.md shows it as it is."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "physics" / "experiment.scenario.yaml"


@pytest.mark.heavy(seconds=14)
def test_the_example_runs_green(pytester):
    shutil.copy(EXAMPLE, pytester.path / EXAMPLE.name)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--cloud-platform", "sim:qa")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*statistical checks: 2 counted at collection, 2 with a p-value*0 rejected"])


def test_docs_physics_shows_the_example_as_it_is():
    text = (ROOT / "docs" / "physics.md").read_text()
    shown = re.search(r"<!-- example: docs/examples/physics/experiment.scenario.yaml -->\n```yaml\n(.*?)```", text, re.S)
    assert shown, "docs/physics.md does not show docs/examples/physics/experiment.scenario.yaml"
    assert shown.group(1) == EXAMPLE.read_text()
