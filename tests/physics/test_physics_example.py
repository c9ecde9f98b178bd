"""docs/examples/test_physics_example.py passes against the embedded reference cloud on both platforms."""
from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "test_physics_example.py"


@pytest.mark.heavy(seconds=5)
def test_the_physics_example_passes_on_an_ideal_and_a_lossy_platform(pytester):
    pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")
    pytester.makepyfile(test_example=EXAMPLE.read_text())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cloud-platform", "sim:qa",
                                           "--cloud-platform", "qpu:qa")
    result.assert_outcomes(passed=2)


def test_every_python_block_of_docs_physics_is_in_the_example():
    import re

    blocks = re.findall(r"```python\n(.*?)```", (EXAMPLE.parents[1] / "physics.md").read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        assert block.rstrip() in EXAMPLE.read_text(), f"docs/physics.md block not in {EXAMPLE.name}:\n{block}"
