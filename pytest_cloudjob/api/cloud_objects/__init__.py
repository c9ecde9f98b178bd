"""The seed's cloud objects: users, jobs and platforms."""
from pytest_cloudjob.api.cloud_objects.cloud_base import ACloudObject
from pytest_cloudjob.api.cloud_objects.cloud_job import Job
from pytest_cloudjob.api.cloud_objects.cloud_platform import Platform
from pytest_cloudjob.api.cloud_objects.cloud_user import User

__all__ = ["ACloudObject", "Job", "Platform", "User"]
