"""A pytest plugin the mutation runner loads into the user's run (``-p pytest_cloudjob.mutation.probe``):
it writes each test's outcome, node id and failure text as JSON lines, so the runner reads exact node ids
and the very text a user would read, without parsing terminal output."""
from __future__ import annotations

import json
import os

import pytest

OUTPUT_ENV = "CLOUDJOB_MUTATION_PROBE"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = os.environ.get(OUTPUT_ENV)
    if not path:
        return
    if report.when == "call" or report.failed or report.skipped:
        record = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                  "text": report.longreprtext if report.failed else ""}
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
