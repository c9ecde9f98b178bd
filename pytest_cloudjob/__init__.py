"""pytest-cloudjob: verify a quantum-cloud job service with pytest, YAML scenarios and Allure."""
from pytest_cloudjob.api import (
    CloudApiError,
    CloudContext,
    IllegalTransitionError,
    Job,
    JobWaitError,
    Platform,
    User,
    WaitTimeoutError,
)

__version__ = "0.1.0"

__all__ = [
    "CloudApiError", "CloudContext", "IllegalTransitionError", "Job", "JobWaitError", "Platform", "User",
    "WaitTimeoutError", "__version__",
]
