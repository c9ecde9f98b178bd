"""Without the physics extra, the shipped physics scenarios skip with the reason, before making any job:
the main README command (``pip install -e .``) stays green, and a missing library is never a red verdict."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

SHIPPED_PHYSICS = Path(__file__).parents[2] / "scenarios" / "physics.scenario.yaml"
# Imported at every interpreter start on PYTHONPATH: the module is not found, as when it is not installed
# (what is checked is whether it is installed, without importing it).
HIDE_PERCEVAL = """
import sys


class _NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "perceval" or name.startswith("perceval."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled)
"""


def test_physics_scenarios_skip_with_the_reason_when_perceval_is_missing(pytester, monkeypatch):
    shadow = pytester.path / "no_perceval"
    shadow.mkdir()
    (shadow / "sitecustomize.py").write_text(HIDE_PERCEVAL)
    # the run and its embedded cloud both lack Perceval (a PYTHONPATH already set, a worktree's, is kept after it)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")])))
    shutil.copy(SHIPPED_PHYSICS, pytester.path / SHIPPED_PHYSICS.name)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=9)  # 5 distribution + 4 datasheet scenarios
    result.stdout.fnmatch_lines(["*SKIPPED ?9?*Perceval is not installed*install the physics extra*"])
    assert "leak sweep: 0 job(s) of this run listed" in result.stdout.str()  # skipped before making a job
