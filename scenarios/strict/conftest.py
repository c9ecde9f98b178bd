"""The strict profile is opt-in: its scenarios check house policies, not promises, so `pytest scenarios`
leaves them out (deselected) unless the mark expression names them (`-m strict`)."""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "strict" in (config.getoption("markexpr") or ""):
        return
    strict = [item for item in items if HERE in item.path.parents]
    if strict:
        config.hook.pytest_deselected(items=strict)
        items[:] = [item for item in items if HERE not in item.path.parents]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the profile's mark here, with the profile, so it runs clean under --strict-markers."""
    config.addinivalue_line("markers", "strict: house policies beyond the protocol's promises (opt-in profile)")
