"""The client layer: the seed's objects over the Perceval protocol (docs/protocol.md)."""
from pytest_cloudjob.api.client import Api, CloudContext, RetryPolicy, calls_end_by
from pytest_cloudjob.api.cloud_objects import ACloudObject, Job, Platform, User
from pytest_cloudjob.api.errors import CloudApiError, JobNotCreatedError, UnknownJobFieldError, UnsafeRequestPathError
from pytest_cloudjob.api.waiting import (
    IllegalTransitionError,
    JobWaitError,
    PollingPolicy,
    ResultsNotReadyError,
    StatusHistory,
    UnexpectedEndError,
    WaitTimeoutError,
)

__all__ = [
    "ACloudObject", "Api", "CloudApiError", "CloudContext", "IllegalTransitionError", "Job", "JobNotCreatedError",
    "JobWaitError", "Platform", "PollingPolicy", "ResultsNotReadyError", "RetryPolicy", "StatusHistory",
    "UnexpectedEndError", "UnknownJobFieldError", "UnsafeRequestPathError", "User", "WaitTimeoutError", "calls_end_by",
]
