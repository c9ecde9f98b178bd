"""The seed's import path (``steps.api.utils``): the client core now lives in :mod:`pytest_cloudjob.api.client`."""
from pytest_cloudjob.api.client import Api, CallRecord, CloudContext, RetryPolicy, decode_json

__all__ = ["Api", "CallRecord", "CloudContext", "RetryPolicy", "decode_json"]
