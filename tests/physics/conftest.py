"""Reference clouds for the physics tests: quick platforms, and one cloud per physics defect on demand."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud

QUICK = ["--run-time", "sim:qa=0.05", "--run-time", "qpu:qa=0.05"]


@pytest.fixture(scope="session")
def physics_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """An honest reference cloud whose jobs end within a tenth of a second."""
    cloud = start_reference_cloud(tmp_path_factory.mktemp("physics") / "cloud.log", QUICK)
    yield cloud
    assert cloud.stop() == 0, f"reference cloud did not stop cleanly; log: {cloud.log_path}"


@pytest.fixture
def broken_cloud(tmp_path: Path) -> Iterator[Callable[[str], RunningCloud]]:
    """Start a reference cloud that breaks one physics promise (``--break NAME``)."""
    started: list[RunningCloud] = []

    def start(defect: str) -> RunningCloud:
        started.append(start_reference_cloud(tmp_path / f"{defect}.log", [*QUICK, "--break", defect]))
        return started[-1]

    yield start
    for cloud in started:
        assert cloud.stop() == 0, f"reference cloud did not stop cleanly; log: {cloud.log_path}"
