"""The error of a scenario that is wrong (not the cloud): reported apart from cloud defects."""
from __future__ import annotations

from pytest_cloudjob.errors import CloudJobError


class HarnessError(CloudJobError):
    """A scenario or harness mistake found while running (a missing variable, a bad matcher argument).

    Never a verdict on the cloud: reports file it as a harness error, not as a cloud defect.
    """
