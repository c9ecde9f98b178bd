"""mypy over the package, the tests and the benchmarks (pyproject's ``[tool.mypy]``), as one test of the suite.

Why here and not as its own step of the README's test command: mypy is single-threaded and took 15 s of a fresh
machine's 2 cores with the second one idle; inside the suite it runs on one xdist worker while the others test
(docs/benchmarks.md §13). A type error is a red test whose text is mypy's own report."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.heavy(seconds=20)
def test_mypy_finds_no_type_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from mypy import api

    monkeypatch.chdir(ROOT)  # the files of [tool.mypy] are relative to the project
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    assert status == 0, stdout + stderr
    assert stdout.startswith("Success: no issues found"), stdout
