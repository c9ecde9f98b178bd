"""What every cloud object shares: its name, its endpoint, how it reaches the API and authenticates."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pytest_cloudjob.api.client import Api, CloudContext


class ACloudObject(ABC):
    """Base of the seed's cloud objects (``Job``): class-level hooks the methods are written against."""

    @classmethod
    @abstractmethod
    def get_object_name(cls) -> str:
        """A human name for messages and reports (``"job"``)."""

    @classmethod
    @abstractmethod
    def get_endpoint(cls) -> str:
        """The base path of this object's endpoints, as the target's path table says."""

    @classmethod
    def get_api(cls, context: CloudContext) -> Api:
        """The pooled :class:`Api` of ``context``."""
        return context.api

    @classmethod
    def get_token_method(cls) -> str:
        """The name of the ``User`` method giving the token this object's calls are made with."""
        return "get_token"

    @classmethod
    def token_of(cls, user: Any) -> str:
        """The token ``user`` authenticates with for this kind of object."""
        token: str = getattr(user, cls.get_token_method())()
        return token
