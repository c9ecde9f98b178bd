"""What this repository's tests and its shipped scenarios share.

The marks of the shipped scenarios are declared here, as every pytest mark must be, so that
``--strict-markers`` treats a misspelt scenario mark as it treats a misspelt Python one. A QA repository
using the plugin declares its own scenario marks the same way (a ``markers`` ini key or a conftest).
"""
from __future__ import annotations

import pytest

SCENARIO_MARKS = {
    "smoke": "a quick check that the cloud answers at all",
    "lifecycle": "create, follow, read results",
    "cancel": "cancelling jobs",
    "rerun": "rerunning ended jobs",
    "admin": "admin listing and cancel-many",
    "security": "authentication and tenant isolation",
    "validation": "refusal of invalid input",
    "platform": "platform details",
    "liveness": "deadlines on jobs that never start or never end",
    "physics": "results that follow from the submitted experiment (needs pytest-cloudjob[physics])",
    "strict": "house policies beyond the protocol's promises (opt-in profile)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, what in SCENARIO_MARKS.items():
        config.addinivalue_line("markers", f"{name}: {what}")
