"""The scenario format as a JSON Schema, built from the step and matcher tables so the two cannot drift.

Editors (VS Code's YAML extension, JetBrains) use it to autocomplete and underline scenario files. It
checks shape only; the loader's checks (saved names, placeholders, regexes) stay the authority.
Regenerate the shipped file with ``python -m pytest_cloudjob.scenarios.schema > <package>/scenarios/scenario.schema.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pytest_cloudjob.scenarios.matchers import MATCHERS
from pytest_cloudjob.scenarios.model import SEVERITIES
from pytest_cloudjob.scenarios.steps import ACTORS, COMMON, COMMON_EXCLUSIVE, NAME_PATTERN, STEPS, StepKind

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")
SCHEMA_ID = "https://pytest-cloudjob.invalid/scenario.schema.json"
_NAME = {"type": "string", "pattern": NAME_PATTERN}


def _arguments(spec: StepKind) -> dict[str, Any]:
    names = spec.arg_names if spec.kind == "include" else spec.arg_names | set(COMMON)
    arguments: dict[str, Any] = {"type": ["object", "null"], "additionalProperties": False,
                                 "properties": {name: dict(spec.arg(name).type.schema) for name in sorted(names)}}
    exclusive = spec.exclusive if spec.kind == "include" else COMMON_EXCLUSIVE + spec.exclusive
    if exclusive:
        arguments["allOf"] = [{"not": {"required": list(pair)}} for pair in exclusive]
    if spec.required:
        arguments["required"] = list(spec.required)
        arguments["type"] = "object"
    if spec.scalar_fields:
        expected = {"anyOf": [{"$ref": "#/$defs/matcher"}, {"not": {"type": "object"}}, {
            "type": "object", "additionalProperties": {"$ref": "#/$defs/spec"},
            "properties": {name: {"$ref": "#/$defs/scalar_spec"} for name in spec.scalar_fields}}]}
        for key in ("expect", "require"):
            arguments["properties"][key] = expected
    if spec.kind == "include":
        return {"oneOf": [{"type": "string", "minLength": 1}, arguments]}
    return arguments


def scenario_schema() -> dict[str, Any]:
    """One scenario document (a YAML file holds one or more of them)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "pytest-cloudjob scenario",
        "description": "One YAML document of a *.scenario.yaml file: see docs/scenarios.md.",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "steps"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "platforms": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "user": {"enum": list(ACTORS[:3])},
            "vars": {"type": "object"},
            "parametrize": {"type": "array", "minItems": 1, "items": {"type": "object", "minProperties": 1}},
            "marks": {"type": "array", "items": _NAME},
            "severity": {"enum": list(SEVERITIES)},
            "steps": {"type": "array", "minItems": 1, "items": {"oneOf": [{"$ref": f"#/$defs/step_{kind}"}
                                                                         for kind in STEPS]}},
        },
        "$defs": {
            **{f"step_{kind}": {"type": "object", "additionalProperties": False, "required": [kind],
                                "properties": {kind: _arguments(spec)}} for kind, spec in STEPS.items()},
            "matcher": {"type": "object", "minProperties": 1, "additionalProperties": False,
                        "properties": {name: dict(m.schema) for name, m in MATCHERS.items()}},
            "scalar_spec": {"description": "a value the protocol says is not an object: a plain value or a matcher",
                            "anyOf": [{"$ref": "#/$defs/matcher"}, {"not": {"type": "object"}}]},
            "spec": {"description": "a plain value (equal), a matcher, or fields -> spec",
                     "anyOf": [{"$ref": "#/$defs/matcher"},
                               {"type": "object", "additionalProperties": {"$ref": "#/$defs/spec"}},
                               {"not": {"type": "object"}}]},
        },
    }


def render() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
