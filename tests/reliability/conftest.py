"""Fixtures the reliability tests share: a clean environment, and the run pointed at the session's cloud."""
from __future__ import annotations

import pytest
from _support import CLOUDJOB_VARIABLES


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No CLOUDJOB_* variable of the developer's shell reaches a run under test."""
    for name in CLOUDJOB_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def against(reference_cloud, monkeypatch):
    """Runs under test target the session's reference cloud by URL, with the user and admin tokens."""
    monkeypatch.setenv("CLOUDJOB_URL", reference_cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", reference_cloud.tokens["user"])
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", reference_cloud.tokens["admin"])
    return reference_cloud
