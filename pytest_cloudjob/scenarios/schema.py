"""The scenario format as a JSON Schema, built from the model's own tables so the two cannot drift.

Editors (VS Code's YAML extension, JetBrains) use it to autocomplete and underline scenario files. It
checks shape only; the loader's checks (saved names, placeholders, regexes) stay the authority.
Regenerate the shipped file with ``python -m pytest_cloudjob.scenarios.schema > <package>/scenarios/scenario.schema.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.scenarios.matchers import MATCHER_KEYS, TYPES
from pytest_cloudjob.scenarios.model import ACTORS, COMMON_KEYS, SEVERITIES, STEP_KEYS

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")
SCHEMA_ID = "https://pytest-cloudjob.invalid/scenario.schema.json"

_NAME = {"type": "string", "pattern": r"^[A-Za-z_][\w-]*$"}
_DURATION = {"oneOf": [{"type": "number", "exclusiveMinimum": 0},
                       {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|min)?\s*$"}],
             "description": "30s, 500ms, 2m or a number of seconds"}
_STATUS = {"enum": sorted(protocol.ALL_STATUSES)}

_ARGUMENTS: dict[str, dict[str, Any]] = {
    "payload": {"type": "object", "description": "merged over the default payload"},
    "platform": {"type": "string"},
    "job_name": {"type": "string"},
    "pcvl_version": {"type": "string"},
    "process_id": {"type": "string"},
    "extra": {"type": "object", "description": "more fields of the create body"},
    "body": {"description": "send exactly this JSON as the create body"},
    "raw_body": {"type": "string", "description": "send this text as the create body"},
    "count": {"type": "integer", "minimum": 1, "maximum": 100},
    "save": {**_NAME, "description": "name the job(s) for later steps"},
    "job": {**_NAME, "description": "a job saved by an earlier step"},
    "until": {"oneOf": [_STATUS, {"type": "array", "items": _STATUS, "minItems": 1}]},
    "timeout": _DURATION,
    "name": {"type": "string", "description": "platform name, default {platform}"},
    "legacy": {"type": "boolean"},
    "filters": {"type": "object", "propertyNames": {"enum": list(protocol.LIST_FILTERS)}},
    "jobs": {"type": "array", "items": _NAME, "minItems": 1},
    "as": {"enum": list(ACTORS)},
    "expect": {"$ref": "#/$defs/spec"},
    "require": {"$ref": "#/$defs/spec"},
    "expect_error": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {"status": {"oneOf": [{"type": "integer", "minimum": 400, "maximum": 599},
                                            {"type": "array", "items": {"type": "integer"}}]},
                       "message": {"$ref": "#/$defs/spec"}},
    },
    "description": {"type": "string"},
}

_MATCHER: dict[str, Any] = {
    "type": "object", "minProperties": 1, "additionalProperties": False,
    "properties": {key: {} for key in sorted(MATCHER_KEYS)} | {
        "type": {"oneOf": [{"enum": list(TYPES)}, {"type": "array", "items": {"enum": list(TYPES)}}]},
        "regex": {"type": "string"},
        "one_of": {"type": "array"},
        "exists": {"type": "boolean"},
    },
}


def _step(kind: str) -> dict[str, Any]:
    keys = sorted(STEP_KEYS[kind] | COMMON_KEYS)
    arguments = {"type": ["object", "null"], "additionalProperties": False,
                 "properties": {key: _ARGUMENTS[key] for key in keys},
                 "not": {"required": ["expect", "expect_error"]}}
    if "job" in STEP_KEYS[kind]:
        arguments["required"] = ["job"]
    if kind == "cancel_many":
        arguments["required"] = ["jobs"]
    return {"type": "object", "additionalProperties": False, "required": [kind], "properties": {kind: arguments}}


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
            "marks": {"type": "array", "items": _NAME},
            "severity": {"enum": list(SEVERITIES)},
            "steps": {"type": "array", "minItems": 1, "items": {"oneOf": [{"$ref": f"#/$defs/step_{kind}"}
                                                                         for kind in STEP_KEYS]}},
        },
        "$defs": {
            **{f"step_{kind}": _step(kind) for kind in STEP_KEYS},
            "matcher": _MATCHER,
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
