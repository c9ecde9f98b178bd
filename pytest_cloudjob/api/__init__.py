"""The client layer: the seed's objects over the Perceval protocol (DESIGN.md §1, §2)."""
from pytest_cloudjob.api.client import Api, CloudContext, RetryPolicy
from pytest_cloudjob.api.cloud_objects import ACloudObject, Job, Platform, User
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.api.waiting import (
    IllegalTransitionError,
    JobWaitError,
    PollingPolicy,
    StatusHistory,
    UnexpectedEndError,
    WaitTimeoutError,
)

__all__ = [
    "ACloudObject", "Api", "CloudApiError", "CloudContext", "IllegalTransitionError", "Job", "JobWaitError",
    "Platform", "PollingPolicy", "RetryPolicy", "StatusHistory", "UnexpectedEndError", "User",
    "WaitTimeoutError",
]
