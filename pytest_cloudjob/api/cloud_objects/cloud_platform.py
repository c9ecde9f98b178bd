"""A platform (``sim:qa``, a QPU): its details, on the new path or Perceval's older one."""
from __future__ import annotations

from typing import Any

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects.cloud_base import ACloudObject
from pytest_cloudjob.api.cloud_objects.cloud_user import User
from pytest_cloudjob.api.errors import CloudApiError, excerpt


class Platform(ACloudObject):
    """A named platform of the cloud."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def get_object_name(cls) -> str:
        return "platform"

    @classmethod
    def get_endpoint(cls) -> str:
        return "platform"

    def details(self, context: CloudContext, user: User, legacy: bool = False) -> dict[str, Any]:
        """``{id, name, type, status, specs, perfs}`` from ``/api/platforms/<name>/processor``
        (or ``/api/platform/<name>`` with ``legacy=True``)."""
        __tracebackhide__ = True
        endpoint = "platform_legacy" if legacy else "platform"
        data = self.get_api(context).call_json("GET", endpoint, self.token_of(user),
                                               path_params={"name": self.name}, retry=True)
        if not isinstance(data, dict):
            raise CloudApiError("GET", context.path(endpoint, name=self.name), status=200,
                                body=excerpt(data), kind="protocol", reason="expected a JSON object")
        return data

    def __repr__(self) -> str:
        return f"Platform({self.name!r})"
