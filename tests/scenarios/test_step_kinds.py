"""A step kind is one object of one table: each has its behaviour, its docs row and its schema entry, and
its typed values (durations) are parsed once, when the scenario is loaded."""
from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from pytest_cloudjob.scenarios import steps
from pytest_cloudjob.scenarios.loader import load_documents
from pytest_cloudjob.scenarios.model import parse_scenario
from pytest_cloudjob.scenarios.schema import SCHEMA_PATH

ROOT = Path(__file__).resolve().parents[2]
#: Kinds the loader expands in their place: they never reach the runner, so they have no handler.
EXPANDED_AT_LOAD = {"include"}


def load(tmp_path: Path, text: str):
    path = tmp_path / "x.scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return [parse_scenario(doc, path, i) for i, doc in enumerate(load_documents(path))]


@pytest.mark.parametrize("kind", list(steps.STEPS))
def test_every_kind_has_a_handler_a_docs_row_and_a_schema_entry(kind):
    spec = steps.STEPS[kind]
    assert (spec.run is None) == (kind in EXPANDED_AT_LOAD), f"step {kind!r} has no handler"
    assert re.search(rf"^\| `{kind}` \|", (ROOT / "docs" / "scenarios.md").read_text(), re.M), (
        f"docs/scenarios.md has no row for step {kind!r}: paste `python -m pytest_cloudjob.scenarios.steps`")
    schema = json.loads(SCHEMA_PATH.read_text())
    assert f"step_{kind}" in schema["$defs"], f"the shipped JSON Schema has no entry for step {kind!r}"


def test_each_kind_is_registered_once_from_its_group_module():
    kinds = [kind.kind for group in steps.GROUPS for kind in group.KINDS]
    assert len(kinds) == len(set(kinds)) == len(steps.STEPS)


def test_an_include_is_expanded_at_load_and_never_reaches_the_runner(tmp_path):
    (tmp_path / "shared.steps.yaml").write_text("- platform: {}\n")
    scenario, = load(tmp_path, "name: x\nsteps:\n  - include: shared.steps.yaml\n  - platform: {}\n")
    assert [step.kind for step in scenario.steps] == ["platform", "platform"]


def test_durations_are_parsed_once_at_load(tmp_path):
    scenario, = load(tmp_path, """
        name: x
        steps:
          - create: {save: job}
          - wait: {job: job, until: completed, timeout: 2m, max_time: 90s}
          - status: {job: job, eventually: {timeout: 10s, interval: 200ms}}
          - status: {job: job, eventually: 1500ms}
        """)
    assert [step.seconds for step in scenario.steps] == [
        {}, {"timeout": 120.0, "max_time": 90.0}, {"eventually": 10.0, "eventually.interval": 0.2},
        {"eventually": 1.5}]


def test_a_create_payload_is_merged_over_the_real_default_experiment_unless_it_brings_its_own():
    from pytest_cloudjob.api.cloud_objects import Job
    from pytest_cloudjob.scenarios.steps.jobs import _over_default

    assert _over_default({"max_shots": 7}) == {**Job.DEFAULT_PAYLOAD, "max_shots": 7}
    for own in ({"circuit": ":PCVL:zip:x", "input_state": "|1,0>"}, {"computation": "pcvlar:zip:x"}):
        merged = _over_default(own)
        assert "experiment" not in merged and merged["command"] == "sample_count" and own.items() <= merged.items()
    assert _over_default({"experiment": "mine"})["experiment"] == "mine"
