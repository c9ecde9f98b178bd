"""pytest-cloudjob: verify a quantum-cloud job service with pytest, YAML scenarios and Allure.

The names below are imported on first use (PEP 562), so ``import pytest_cloudjob.protocol`` or the
reference cloud's subprocess does not pay for the client and requests. Every public error is here, so a
user writes ``from pytest_cloudjob import StepFailure`` whatever layer raises it.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # the client
    "CloudContext": "pytest_cloudjob.api.client",
    "RetryPolicy": "pytest_cloudjob.api.client",
    "Job": "pytest_cloudjob.api.cloud_objects.cloud_job",
    "Platform": "pytest_cloudjob.api.cloud_objects.cloud_platform",
    "User": "pytest_cloudjob.api.cloud_objects.cloud_user",
    "PollingPolicy": "pytest_cloudjob.api.waiting",
    # every public error, each a CloudJobError (tests/unit/test_errors.py keeps this list whole)
    "CloudJobError": "pytest_cloudjob.errors",
    "CloudApiError": "pytest_cloudjob.api.errors",
    "JobNotCreatedError": "pytest_cloudjob.api.errors",
    "UnknownJobFieldError": "pytest_cloudjob.api.errors",
    "UnsafeRequestPathError": "pytest_cloudjob.api.errors",
    "ResponseTooLargeError": "pytest_cloudjob.api.transport",
    "JobWaitError": "pytest_cloudjob.api.waiting",
    "WaitTimeoutError": "pytest_cloudjob.api.waiting",
    "IllegalTransitionError": "pytest_cloudjob.api.waiting",
    "UnexpectedEndError": "pytest_cloudjob.api.waiting",
    "ResultsNotReadyError": "pytest_cloudjob.api.waiting",
    "SettingsError": "pytest_cloudjob.run.settings",
    "TargetError": "pytest_cloudjob.run.target",
    "CleanupError": "pytest_cloudjob.run.job_factory",
    "CloudStartError": "pytest_cloudjob.server.process",
    "AllureFolderError": "pytest_cloudjob.reporting.allure_folder",
    "ScenarioFormatError": "pytest_cloudjob.scenarios.loader",
    "HarnessError": "pytest_cloudjob.scenarios.harness",
    "MatcherTypo": "pytest_cloudjob.scenarios.matchers",
    "StepFailure": "pytest_cloudjob.scenarios.runner",
    "PhysicsError": "pytest_cloudjob.physics.simulate",
    "PayloadUnzipError": "pytest_cloudjob.physics.simulate",
    "ResultsFormatError": "pytest_cloudjob.physics.wire",
    "UnzipError": "pytest_cloudjob.physics.wire",
    "DistributionMismatch": "pytest_cloudjob.physics.distribution",
    "DistributionSpecError": "pytest_cloudjob.physics.distribution",
    "DistributionInconclusive": "pytest_cloudjob.physics.distribution",
    "ExperimentSpecError": "pytest_cloudjob.physics.compose",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:
    # `X as X` is an explicit re-export: `from pytest_cloudjob import Job` passes a user's strict mypy
    from pytest_cloudjob.api.client import CloudContext as CloudContext
    from pytest_cloudjob.api.client import RetryPolicy as RetryPolicy
    from pytest_cloudjob.api.cloud_objects.cloud_job import Job as Job
    from pytest_cloudjob.api.cloud_objects.cloud_platform import Platform as Platform
    from pytest_cloudjob.api.cloud_objects.cloud_user import User as User
    from pytest_cloudjob.api.errors import CloudApiError as CloudApiError
    from pytest_cloudjob.api.errors import JobNotCreatedError as JobNotCreatedError
    from pytest_cloudjob.api.errors import UnknownJobFieldError as UnknownJobFieldError
    from pytest_cloudjob.api.errors import UnsafeRequestPathError as UnsafeRequestPathError
    from pytest_cloudjob.api.transport import ResponseTooLargeError as ResponseTooLargeError
    from pytest_cloudjob.api.waiting import IllegalTransitionError as IllegalTransitionError
    from pytest_cloudjob.api.waiting import JobWaitError as JobWaitError
    from pytest_cloudjob.api.waiting import PollingPolicy as PollingPolicy
    from pytest_cloudjob.api.waiting import ResultsNotReadyError as ResultsNotReadyError
    from pytest_cloudjob.api.waiting import UnexpectedEndError as UnexpectedEndError
    from pytest_cloudjob.api.waiting import WaitTimeoutError as WaitTimeoutError
    from pytest_cloudjob.errors import CloudJobError as CloudJobError
    from pytest_cloudjob.physics.compose import ExperimentSpecError as ExperimentSpecError
    from pytest_cloudjob.physics.distribution import DistributionInconclusive as DistributionInconclusive
    from pytest_cloudjob.physics.distribution import DistributionMismatch as DistributionMismatch
    from pytest_cloudjob.physics.distribution import DistributionSpecError as DistributionSpecError
    from pytest_cloudjob.physics.simulate import PayloadUnzipError as PayloadUnzipError
    from pytest_cloudjob.physics.simulate import PhysicsError as PhysicsError
    from pytest_cloudjob.physics.wire import ResultsFormatError as ResultsFormatError
    from pytest_cloudjob.physics.wire import UnzipError as UnzipError
    from pytest_cloudjob.reporting.allure_folder import AllureFolderError as AllureFolderError
    from pytest_cloudjob.run.job_factory import CleanupError as CleanupError
    from pytest_cloudjob.run.settings import SettingsError as SettingsError
    from pytest_cloudjob.run.target import TargetError as TargetError
    from pytest_cloudjob.scenarios.harness import HarnessError as HarnessError
    from pytest_cloudjob.scenarios.loader import ScenarioFormatError as ScenarioFormatError
    from pytest_cloudjob.scenarios.matchers import MatcherTypo as MatcherTypo
    from pytest_cloudjob.scenarios.runner import StepFailure as StepFailure
    from pytest_cloudjob.server.process import CloudStartError as CloudStartError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_cloudjob' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
