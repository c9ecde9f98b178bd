"""Reporting: Allure under ``--alluredir`` (the ``allure_*`` modules), the public path of the step hooks, and
which collection failures are scenario files (the terminal and Allure report those differently).

The hooks the client calls (``step``, ``attach_text``, ``reporting_to`` ...) live in
:mod:`pytest_cloudjob.api.records`, below the client, so that the client imports nothing of this
package; they are re-exported here because ``from pytest_cloudjob import reporting`` is how a user
installs a reporter of their own (docs/reporting.md).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_cloudjob.api.records import (
    StepReporter,
    attach_text,
    expecting_error,
    notify_call,
    reported,
    reporting_to,
    set_reporter,
    step,
)
from pytest_cloudjob.scenarios.collect import matches

__all__ = ["StepReporter", "attach_text", "expecting_error", "notify_call", "reported", "reporting_to",
           "is_scenario_report", "set_reporter", "step"]


def is_scenario_report(report: pytest.CollectReport, config: pytest.Config) -> bool:
    """Whether ``report`` is the collection of a scenario file: one the ``cloud_scenario_patterns`` match,
    the same test that collects it (so a scenario named by a custom pattern counts too)."""
    return matches(Path(report.nodeid.split("::", 1)[0]), config.getini("cloud_scenario_patterns"))
