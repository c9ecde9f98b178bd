"""Fixtures the reliability tests share: a clean environment, and the run pointed at the session's cloud."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_developer_variables(clean_environment: None) -> None:
    """Every reliability test runs without the developer's CLOUDJOB_* variables (tests/conftest.py)."""


@pytest.fixture
def against(reference_cloud, monkeypatch):
    """Runs under test target the session's reference cloud by URL, with the user and admin tokens."""
    monkeypatch.setenv("CLOUDJOB_URL", reference_cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", reference_cloud.tokens["user"])
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", reference_cloud.tokens["admin"])
    return reference_cloud
