"""The published JSON Schema: current with the model, valid, accepting the shipped suite, rejecting bad shapes."""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pytest_cloudjob.scenarios import schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.scenario.yaml"))
# Corpus files whose defect is one of shape, which an editor can underline before anything runs.
SHAPE_DEFECTS = ["bad_duration", "bad_expect_error", "count_out_of_range", "empty_steps", "missing_name",
                 "not_a_mapping", "two_kinds_in_one_step", "unknown_actor", "unknown_filter", "unknown_status",
                 "unknown_step", "unknown_step_key", "unknown_top_key", "wrong_type"]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    published = json.loads(resources.files("pytest_cloudjob.scenarios").joinpath("scenario.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(published)
    return jsonschema.Draft202012Validator(published)


def test_the_published_file_is_the_one_the_model_generates():
    assert schema.SCHEMA_PATH.read_text() == schema.render(), (
        "scenario.schema.json is stale: python -m pytest_cloudjob.scenarios.schema > "
        "pytest_cloudjob/scenarios/scenario.schema.json")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_validates(validator, path):
    for document in yaml.safe_load_all(path.read_text()):
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, f"{path.name} / {document.get('name')}: {errors}"


def test_the_documented_examples_validate(validator):
    for doc in (ROOT / "README.md", ROOT / "docs" / "scenarios.md"):
        blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)
        assert blocks, doc
        for block in blocks:
            document = yaml.safe_load(block)
            if isinstance(document, list):  # a shared steps file: each item is a step of a scenario
                document = {"name": "steps file", "steps": document}
            assert not list(validator.iter_errors(document)), (doc.name, block)


@pytest.mark.parametrize("name", SHAPE_DEFECTS)
def test_shape_defects_of_the_malformed_corpus_are_rejected(validator, name):
    documents = list(yaml.safe_load_all((ROOT / "tests/scenarios/malformed" / f"{name}.scenario.yaml").read_text()))
    assert any(list(validator.iter_errors(d)) for d in documents), f"{name} passes the schema"


def test_a_misspelt_step_is_rejected_and_a_correct_one_accepted(validator):
    document = {"name": "x", "steps": [{"creat": {"save": "job"}}]}
    assert not validator.is_valid(document)
    assert validator.is_valid({"name": "x", "steps": [{"create": {"save": "job"}}, {"wait": {"job": "job",
                                                                                          "until": "completed"}}]})


def test_a_misspelt_matcher_where_the_protocol_has_no_object_is_rejected_as_the_loader_does(validator):
    step: dict[str, Any] = {"status": {"job": "job", "expect": {"status": {"one_off": ["waiting", "running"]}}}}
    assert not validator.is_valid({"name": "x", "steps": [{"create": {"save": "job"}}, step]})
    step["status"]["expect"]["status"] = {"one_of": ["waiting", "running"]}
    assert validator.is_valid({"name": "x", "steps": [{"create": {"save": "job"}}, step]})
