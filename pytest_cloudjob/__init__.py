"""pytest-cloudjob: verify a quantum-cloud job service with pytest, YAML scenarios and Allure.

The names below are imported on first use (PEP 562), so ``import pytest_cloudjob.protocol`` or the
reference cloud's subprocess does not pay for the client and requests.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "CloudJobError": "pytest_cloudjob.errors",
    "CloudApiError": "pytest_cloudjob.api.errors",
    "JobNotCreatedError": "pytest_cloudjob.api.errors",
    "CloudContext": "pytest_cloudjob.api.client",
    "RetryPolicy": "pytest_cloudjob.api.client",
    "Job": "pytest_cloudjob.api.cloud_objects.cloud_job",
    "Platform": "pytest_cloudjob.api.cloud_objects.cloud_platform",
    "User": "pytest_cloudjob.api.cloud_objects.cloud_user",
    "JobWaitError": "pytest_cloudjob.api.waiting",
    "WaitTimeoutError": "pytest_cloudjob.api.waiting",
    "IllegalTransitionError": "pytest_cloudjob.api.waiting",
    "UnexpectedEndError": "pytest_cloudjob.api.waiting",
    "PollingPolicy": "pytest_cloudjob.api.waiting",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:
    from pytest_cloudjob.api.client import CloudContext, RetryPolicy
    from pytest_cloudjob.api.cloud_objects.cloud_job import Job
    from pytest_cloudjob.api.cloud_objects.cloud_platform import Platform
    from pytest_cloudjob.api.cloud_objects.cloud_user import User
    from pytest_cloudjob.api.errors import CloudApiError, JobNotCreatedError
    from pytest_cloudjob.api.waiting import (
        IllegalTransitionError,
        JobWaitError,
        PollingPolicy,
        UnexpectedEndError,
        WaitTimeoutError,
    )
    from pytest_cloudjob.errors import CloudJobError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_cloudjob' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
