"""The shipped locustfile: ``locust -f <this file> --cloud-scenarios scenarios --cloud-mark smoke ...``.

It starts the embedded reference cloud at import (before ``--processes`` forks) unless ``CLOUDJOB_URL``
is set or this is a ``--worker``; ``python -m pytest_cloudjob.load`` passes this file to Locust. Import
:class:`ScenarioUser` in a locustfile of your own to mix the scenarios with other users.
"""
from __future__ import annotations

import sys

from pytest_cloudjob.load import hooks  # noqa: F401  (registers the run's options and event listeners)
from pytest_cloudjob.load.cloud import LoadTargetError, ensure_target
from pytest_cloudjob.load.users import ScenarioUser

__all__ = ["ScenarioUser"]

try:
    ensure_target(worker="--worker" in sys.argv)
except LoadTargetError as exc:
    sys.stderr.write(f"pytest-cloudjob load: {exc}\n")
    sys.exit(2)
