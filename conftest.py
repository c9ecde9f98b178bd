"""What this repository's tests and its shipped scenarios share: both run with strict markers.

A mark nobody declared is an error in this repository's own runs, for Python tests and scenarios alike, so
a shipped scenario can never carry a mark the plugin does not declare for its users (the plugin declares
the shipped scenarios' marks itself: ``pytest_cloudjob.scenarios.collect.SHIPPED_MARKS``; the strict
profile declares its own).
"""
from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.option.strict_markers = True
