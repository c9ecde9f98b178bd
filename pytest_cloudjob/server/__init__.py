"""The embedded reference cloud: the server side of the protocol, on loopback, for tests and scenario work.

It imports nothing from the client; the two share only :mod:`pytest_cloudjob.protocol`, and
it keeps the promises of docs/protocol.md.
"""
from pytest_cloudjob.server.app import CloudConfig, Faults, create_app
from pytest_cloudjob.server.platforms import PlatformModel, default_platforms

__all__ = ["CloudConfig", "Faults", "PlatformModel", "create_app", "default_platforms"]
