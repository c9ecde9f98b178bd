"""Run-level failures as results: the reports agree with the exit code.

A leak the end-of-run sweep found, a sweep that could not complete, a threshold the run's numbers exceed or
the run's false-alarm budget rejecting a check fail the run (exit 1) while every test may have passed. A
junit XML or Allure reader would see only green tests; so each such failure is written there as one failed
result of its own, named ``run-level: ...``, with the whole explanation as its message (masked, as
everything written). Its name is stable from run to run, so Allure's history follows it.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob.redaction import redact
from pytest_cloudjob.redaction.files import redact_file
from pytest_cloudjob.run.summary import RunLevelFailure

#: The pseudo-file every run-level result belongs to: junit's ``classname``, Allure's feature.
RUN_LEVEL_FILE = "cloudjob-run-level"


def nodeid(failure: RunLevelFailure) -> str:
    """junit shows ``classname="cloudjob-run-level" name="run-level: leak sweep found jobs left running"``."""
    return f"{RUN_LEVEL_FILE}::{failure.title}"


def report_to_junit(config: pytest.Config, failures: list[RunLevelFailure]) -> None:
    """Add each failure to the ``--junitxml`` file as a failed test case (nothing without ``--junitxml``).

    Handed to pytest's junit writer alone, not to every plugin: the terminal already says it in the
    cloudjob summary, and its pass/fail counts stay those of the tests."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None or not failures:
        return
    for failure in failures:
        location = (RUN_LEVEL_FILE, None, failure.title)
        message = redact(failure.message)
        xml.pytest_runtest_logreport(pytest.TestReport(nodeid(failure), location, {}, "failed", message, "call",
                                                       sections=[], duration=0.0))
        xml.pytest_runtest_logreport(pytest.TestReport(nodeid(failure), location, {}, "passed", None, "teardown",
                                                       sections=[], duration=0.0))


def redact_junit_file(config: pytest.Config) -> None:
    """Mask every registered secret in the ``--junitxml`` file pytest has written (nothing without one).

    Reports are masked before pytest's junit writer sees them, but it names each test case from the node id,
    and a node id can hold a token (``test_x[<token>]``, a ``parametrize`` value): its ``name`` and
    ``classname`` would carry it, and so would anything a plugin records (``record_property``). So the file
    itself is masked once written, as the Allure folder is; one that cannot be rewritten is removed."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    path = Path(xml.logfile)
    removed: list[Path] = []
    if path.is_file():
        redact_file(path, removed)
    if removed:
        print(f"cloudjob: {path} held a secret and could not be rewritten masked, so it was removed", file=sys.stderr)


def allure_result(failure: RunLevelFailure, epic: str) -> Any:
    """The failed Allure result of ``failure`` (its history id fixed by its key)."""
    from allure_commons.model2 import Label, Status, StatusDetails, TestResult
    from allure_commons.types import LabelType

    from pytest_cloudjob.reporting.allure_typed import now, uuid4

    full_name = f"{RUN_LEVEL_FILE}#{failure.key}"
    case_id = hashlib.md5(full_name.encode()).hexdigest()
    return TestResult(uuid=uuid4(), name=failure.title, fullName=full_name, historyId=case_id, testCaseId=case_id,
                      status=Status.FAILED, start=now(), stop=now(),
                      statusDetails=StatusDetails(message=redact(failure.message)),
                      labels=[Label(LabelType.EPIC, epic), Label(LabelType.FEATURE, "run-level"),
                              Label(LabelType.STORY, failure.title), Label(LabelType.SEVERITY, "critical"),
                              Label(LabelType.SUITE, "run-level"), Label(LabelType.FRAMEWORK, "pytest-cloudjob")])


def report_to_allure(failures: list[RunLevelFailure], epic: str) -> None:
    """Write each failure to the Allure results folder through allure's (redacting) file logger."""
    import allure_commons

    for failure in failures:
        allure_commons.plugin_manager.hook.report_result(result=allure_result(failure, epic))
