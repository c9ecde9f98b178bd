"""Reference clouds for the physics tests: quick platforms, and one cloud per physics defect on demand."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud

QUICK = ["--run-time", "sim:qa=0.05", "--run-time", "qpu:qa=0.05"]


@pytest.fixture(scope="session")
def physics_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """An honest reference cloud whose jobs end within a tenth of a second."""
    cloud = start_reference_cloud(tmp_path_factory.mktemp("physics") / "cloud.log", QUICK)
    yield cloud
    assert cloud.stop() == 0, f"reference cloud did not stop cleanly; log: {cloud.log_path}"


@pytest.fixture(scope="session")
def broken_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], RunningCloud]]:
    """The reference cloud that breaks one physics promise (``--break NAME``), started on first use."""
    started: dict[str, RunningCloud] = {}
    folder = tmp_path_factory.mktemp("broken")

    def start(defect: str) -> RunningCloud:
        if defect not in started:
            started[defect] = start_reference_cloud(folder / f"{defect}.log", [*QUICK, "--break", defect])
        return started[defect]

    yield start
    for cloud in started.values():
        assert cloud.stop() == 0, f"reference cloud did not stop cleanly; log: {cloud.log_path}"
