"""The reliability tests run in a clean environment (``against``, the run pointed at the session's cloud, is
in tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_developer_variables(clean_environment: None) -> None:
    """Every reliability test runs without the developer's CLOUDJOB_* variables (tests/conftest.py)."""
