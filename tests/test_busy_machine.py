"""``benchmarks/busy_machine.py`` runs the README's test command, installs left out: when the README's install
changed to ``pip install -q uv && uv pip install ...``, the script kept ``uv pip install ...`` and every run
exited 127 (what it measured was no test at all)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_busy_machine_benchmark_runs_the_readme_test_command_without_its_installs() -> None:
    spec = importlib.util.spec_from_file_location("busy_machine", ROOT / "benchmarks" / "busy_machine.py")
    assert spec is not None and spec.loader is not None
    busy_machine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(busy_machine)
    command = busy_machine.readme_test_command()
    readme = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.endswith("# run the tests"))
    assert "install" not in command and "venv" not in command, command
    assert readme.removesuffix("# run the tests").rstrip().endswith(command), (readme, command)
    assert re.search(r"\bpytest tests\b", command), command
