"""The run's failure categories, in the two forms the two Allure renderers read.

Allure 2 reads ``categories.json`` from the results folder; Allure 3 ignores that file and reads categories
from its own configuration (``allurerc.*``, option ``categories``). One table drives both, and its regular
expressions are written in the dialect both engines share: Java's ``matches()`` (the whole message) and
JavaScript's ``RegExp.test`` (anywhere), so no ``(?s)`` flag (JavaScript refuses it) but ``[\\s\\S]``, and
each pattern spans the whole message.

A harness mistake must never be filed as a cloud defect: a ``HarnessError`` anywhere in the message keeps
the result out of every cloud-side category and lands it in "Harness errors".
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ANY = r"[\s\S]*"
NOT_HARNESS = r"^(?![\s\S]*\bHarnessError\b)"
CLOUD_DEFECT_MARKERS = (r"StepFailure|AssertionError|-> HTTP \d{3}|IllegalTransitionError|UnexpectedEndError"
                        r"|-> protocol error")

CATEGORIES: list[dict[str, Any]] = [
    {"name": "Bad scenarios", "description": "a scenario file that cannot run: fix the file, not the cloud",
     "matchedStatuses": ["broken"], "messageRegex": rf"^bad scenario: {ANY}"},
    {"name": "Run-level failures", "description": "the run failed outside any test: jobs left running (the leak "
     "sweep), a sweep that could not complete, a threshold, the run's false-alarm budget",
     "matchedStatuses": ["failed"], "messageRegex": rf"^run-level: {ANY}"},
    {"name": "Transport errors", "description": "no answer from the cloud: network, TLS, proxy or a dropped connection",
     "matchedStatuses": ["failed", "broken"], "messageRegex": rf"{NOT_HARNESS}{ANY}-> transport error{ANY}"},
    {"name": "Harness timeouts", "description": "a wait reached its deadline: a slow cloud or too short a timeout",
     "matchedStatuses": ["failed", "broken"],
     "messageRegex": rf"{NOT_HARNESS}{ANY}still [a-z_]+ after [0-9.]+s \(\d+ status calls\){ANY}"},
    {"name": "Cloud defects", "description": "a response of the cloud broke an expectation",
     "matchedStatuses": ["failed", "broken"], "messageRegex": rf"{NOT_HARNESS}{ANY}({CLOUD_DEFECT_MARKERS}){ANY}"},
    {"name": "Harness errors", "description": "the test or the harness itself broke (HarnessError, or any other error)",
     "matchedStatuses": ["failed", "broken"]},
]


#: Where Allure 3 keeps its history (relative to the folder ``allure generate`` runs in, not to the results):
#: without one it shows no earlier run at all, neither statuses nor the run's figures.
HISTORY_PATH = "allure-history.jsonl"


def allure3_config(name: str = "pytest-cloudjob", performance: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ``allurerc.json`` for Allure 3 holding :data:`CATEGORIES` (its compatibility keys are Allure 2's), its
    history file, and the titles of the run's figures (``performance``, read by Allure 3.17 and later)."""
    config: dict[str, Any] = {"name": name, "historyPath": HISTORY_PATH, "categories": {"rules": [
        {key: value for key, value in rule.items() if key != "description"} for rule in CATEGORIES]}}
    if performance:
        config["performance"] = performance
    return config


def write_categories(report_dir: Path, performance: dict[str, Any] | None = None) -> None:
    """``categories.json`` for Allure 2 and ``allurerc.json`` for Allure 3 (``--config`` points at it)."""
    (report_dir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
    (report_dir / "allurerc.json").write_text(json.dumps(allure3_config(performance=performance), indent=2) + "\n",
                                              encoding="utf-8")
