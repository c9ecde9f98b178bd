"""The docs' examples are files that run, and the API reference is the code's own: neither can drift."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def python_blocks(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```python\n(.*?)```", markdown, flags=re.S)]


def test_the_api_reference_is_generated_from_the_current_code():
    generated = subprocess.run([sys.executable, str(ROOT / "docs" / "generate_api.py")], capture_output=True,
                               text=True, check=True).stdout
    committed = (ROOT / "docs" / "api.md").read_text()
    assert committed == generated, "docs/api.md is out of date: python docs/generate_api.py > docs/api.md"


def test_every_python_block_of_the_readme_is_an_example_file():
    examples = {path.name: path.read_text() for path in EXAMPLES.glob("*.py")}
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert blocks
    for block in blocks:
        assert any(block in text for text in examples.values()), f"README block not in docs/examples/:\n{block}"


def test_every_yaml_block_of_the_readme_is_a_scenario_that_runs_green(pytester):
    blocks = [block.strip() for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)]
    examples = {path.name: path.read_text().strip() for path in (EXAMPLES / "readme").glob("*.scenario.yaml")}
    assert blocks and sorted(blocks) == sorted(examples.values()), "README yaml blocks and docs/examples/readme/ differ"
    for name, text in examples.items():
        (pytester.path / name).write_text(text + "\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(examples))


def test_the_client_example_runs_against_a_cloud_given_by_url(reference_cloud):
    env = {**os.environ, "CLOUDJOB_URL": reference_cloud.url, "CLOUDJOB_TOKEN": reference_cloud.tokens["user"]}
    done = subprocess.run([sys.executable, str(EXAMPLES / "client_lifecycle.py")], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "'results'" in done.stdout
    assert reference_cloud.tokens["user"] not in done.stdout + done.stderr


def test_the_fixtures_example_passes_against_the_embedded_cloud(pytester):
    pytester.makepyfile(test_example=(EXAMPLES / "test_fixtures_example.py").read_text())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
