"""Reporting: Allure under ``--alluredir`` (the ``allure_*`` modules), and the public path of the step hooks.

The hooks the client calls (``step``, ``attach_text``, ``reporting_to`` ...) live in
:mod:`pytest_cloudjob.api.records`, below the client, so that the client imports nothing of this
package; they are re-exported here because ``from pytest_cloudjob import reporting`` is how a user
installs a reporter of their own (docs/reporting.md).
"""
from __future__ import annotations

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

__all__ = ["StepReporter", "attach_text", "expecting_error", "notify_call", "reported", "reporting_to",
           "set_reporter", "step"]
