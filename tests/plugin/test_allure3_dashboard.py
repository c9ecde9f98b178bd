"""docs/reporting.md's "Rendering the dashboard" commands, run as written: ``docs/examples/render-dashboard.sh``
is the doc's block (the test checks it is), run in a copy of the shipped scenarios (``-k g2``) with the embedded cloud and
Allure 3 from npm; then its ``generate`` line once more, as the next run's would, and that second report shows
the first run's per-platform figures in its history (docs/reporting.md, "The run's figures, run after run")."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_cloudjob.run.settings import SETTINGS, TOKEN_ENV

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "examples" / "render-dashboard.sh"


def test_the_docs_block_is_the_script_the_test_runs():
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "docs" / "reporting.md").read_text(), flags=re.S)
    assert SCRIPT.read_text() in blocks, "docs/reporting.md's dashboard block and docs/examples/render-dashboard.sh differ"


@pytest.mark.heavy(seconds=60)
def test_the_documented_commands_render_a_report_that_follows_the_figures_run_to_run(tmp_path):
    if shutil.which("npx") is None:
        pytest.skip("npx (Node.js) is not installed: Allure 3 cannot be run")
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    developer = {s.env for s in SETTINGS.values()} | set(TOKEN_ENV.values())  # no setting of the shell: embedded cloud
    env = {name: value for name, value in os.environ.items() if name not in developer}
    env |= {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", "PYTHONPATH": str(ROOT),
            # the g2 datasheet scenario only: it makes every figure checked below (each platform's p50, p95 and
            # g2), and two runs of the whole suite cost 18 s of CPU and a minute of wall time for nothing more
            "PYTEST_ADDOPTS": f"{env.get('PYTEST_ADDOPTS', '')} -k g2"}
    reports, results, written = [], [], []
    for _ in range(2):  # a run, then the next one, as the doc says
        done = subprocess.run(["bash", "-e", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)  # a hang guard, not a target
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert (tmp_path / "allure-report" / "index.html").is_file()
        assert not (tmp_path / "allure-report" / "awesome").exists()  # the report at the top, not beside an old one
        reports.append(json.loads((tmp_path / "allure-report" / "widgets" / "metrics.json").read_text()))
        results.append(len(list((tmp_path / "allure-results").glob("*-result.json"))))
        perf = json.loads((tmp_path / "allure-results" / "cloudjob-perf.json").read_text())
        written.append({m["key"]: m["value"] for m in perf})
    first, second = reports
    current = {m["key"]: m for m in first["current"]}
    for platform in ("sim:qa", "qpu:qa"):
        assert {f"{platform} p50", f"{platform} p95", f"{platform} datasheet g2"} <= set(current), sorted(current)
    assert current["qpu:qa datasheet g2"]["groupTitle"] == "platform qpu:qa"
    assert current["qpu:qa datasheet g2"]["title"].startswith("qpu:qa: g2 estimated (datasheet, advertised 2")
    assert first["history"] == []  # a first report has no earlier run
    assert len(second["history"]) == 1  # the first run, kept in allure-history.jsonl where generate ran
    earlier = second["history"][0]["metrics"]
    assert earlier["qpu:qa p95"] == pytest.approx(current["qpu:qa p95"]["value"])
    assert earlier["qpu:qa datasheet g2"] == pytest.approx(current["qpu:qa datasheet g2"]["value"])
    again = {m["key"]: m["value"] for m in second["current"]}
    # each report shows its own run's figures (the same seed may give the same estimate twice: equal values are
    # no sign of a copy; what the run wrote is); the history holds the first run's
    assert again == pytest.approx(written[1]) and earlier == pytest.approx(written[0])
    assert results[0] == results[1]  # --clean-alluredir: the second run's folder holds its own results only
