"""The scenario format: what a scenario and each step may say, checked before anything runs.

Every error names the file, the line and what is wrong, and suggests the closest name for a typo.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.scenarios.loader import LineDict, LineList, ScenarioFormatError
from pytest_cloudjob.scenarios.matchers import MATCHER_KEYS, TYPES

ACTORS = ("user", "other", "admin", "anonymous", "wrong-token")
COMMON_KEYS = {"as", "expect", "expect_error", "require", "description"}
JOB_STEP = {"job"}
STEP_KEYS: dict[str, set[str]] = {
    "create": {"payload", "platform", "job_name", "pcvl_version", "process_id", "extra", "body", "raw_body",
               "count", "save"},
    "status": JOB_STEP,
    "wait": JOB_STEP | {"until", "timeout"},
    "results": JOB_STEP,
    "read": JOB_STEP,
    "cancel": JOB_STEP,
    "rerun": JOB_STEP | {"save"},
    "platform": {"name", "legacy"},
    "list_all": {"filters"},
    "cancel_many": {"jobs"},
}
SCENARIO_KEYS = {"name", "description", "platforms", "user", "vars", "marks", "steps", "severity"}
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w-]*)(?:\.([\w-]+))?\}")
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")


@dataclass
class Step:
    index: int
    kind: str
    args: dict[str, Any]
    line: int

    @property
    def title(self) -> str:
        return f"step {self.index} ({self.kind})"


@dataclass
class Scenario:
    name: str
    path: Path
    line: int
    steps: list[Step]
    description: str = ""
    platforms: tuple[str, ...] = ()
    user: str = "user"
    vars: dict[str, Any] = field(default_factory=dict)
    marks: tuple[str, ...] = ()
    severity: str = "normal"


def parse_duration(value: Any) -> float | None:
    """Seconds from ``30s``, ``500ms``, ``2m`` or a number; ``None`` if it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2) or "s"
    seconds = number / 1000 if unit == "ms" else number * 60 if unit in ("m", "min") else number
    return seconds if seconds > 0 else None


def closest(name: str, choices: Any) -> str:
    match = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int | None, message: str) -> None:
        raise ScenarioFormatError(self.path, line, message)

    def keys(self, mapping: LineDict, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.fail(mapping.line_of(key), f"{what}: unknown key {key!r}{closest(key, allowed)}; "
                                                f"allowed: {', '.join(sorted(allowed))}")

    def type(self, mapping: LineDict, key: str, kinds: tuple[type, ...], what: str, words: str) -> None:
        if key in mapping and (not isinstance(mapping[key], kinds) or isinstance(mapping[key], bool) and bool not in kinds):
            self.fail(mapping.line_of(key), f"{what}: '{key}' must be {words}, got {type(mapping[key]).__name__} "
                                            f"{mapping[key]!r}")


def parse_scenario(document: Any, path: Path, doc_index: int) -> Scenario:
    """A checked :class:`Scenario` from one YAML document, or :class:`ScenarioFormatError`."""
    c = _Checker(path)
    if not isinstance(document, LineDict):
        c.fail(getattr(document, "line", None), f"document {doc_index + 1} must be a mapping with 'name' and 'steps'")
    c.keys(document, SCENARIO_KEYS, "scenario")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        c.fail(document.line_of("name"), "scenario: 'name' is required and must be a non-empty string")
    what = f"scenario {name!r}"
    for key in ("description", "user", "severity"):
        c.type(document, key, (str,), what, "a string")
    user = document.get("user", "user")
    if user not in ACTORS[:3]:
        c.fail(document.line_of("user"), f"{what}: 'user' must be one of user, other, admin{closest(user, ACTORS)}")
    severity = document.get("severity", "normal")
    if severity not in SEVERITIES:
        c.fail(document.line_of("severity"), f"{what}: 'severity' must be one of {', '.join(SEVERITIES)}")
    for key in ("platforms", "marks"):
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            c.fail(document.line_of(key), f"{what}: '{key}' must be a list of names")
    for mark in document.get("marks", []):
        if not _NAME.match(mark):
            c.fail(document.line_of("marks"), f"{what}: mark {mark!r} is not a valid name")
    variables = document.get("vars", {})
    if not isinstance(variables, dict):
        c.fail(document.line_of("vars"), f"{what}: 'vars' must be a mapping")
    steps = document.get("steps")
    if not isinstance(steps, LineList) or not steps:
        c.fail(document.line_of("steps") if "steps" in document else document.line,
               f"{what}: 'steps' is required and must be a non-empty list")
    saved: dict[str, bool] = {}  # name -> is a list of jobs
    parsed = [_parse_step(c, what, i + 1, raw, steps.item_lines[i], saved, variables)
              for i, raw in enumerate(steps)]
    return Scenario(name=name.strip(), path=path, line=document.line, steps=parsed,
                    description=document.get("description", ""), platforms=tuple(document.get("platforms", [])),
                    user=user, vars=dict(variables), marks=tuple(document.get("marks", [])), severity=severity)


def _parse_step(c: _Checker, what: str, index: int, raw: Any, line: int, saved: dict[str, bool],
                variables: dict[str, Any]) -> Step:
    if not isinstance(raw, LineDict) or len(raw) != 1:
        c.fail(line, f"{what}, step {index}: a step is a mapping with exactly one kind, one of "
                     f"{', '.join(STEP_KEYS)}")
    kind, args = next(iter(raw.items()))
    if kind not in STEP_KEYS:
        c.fail(line, f"{what}, step {index}: unknown step {kind!r}{closest(kind, STEP_KEYS)}; "
                     f"steps: {', '.join(STEP_KEYS)}")
    if args is None:
        args = LineDict()
        args.line, args.key_lines = line, {}
    if not isinstance(args, LineDict):
        c.fail(line, f"{what}, step {index} ({kind}): its arguments must be a mapping, got {type(args).__name__}")
    where = f"{what}, step {index} ({kind})"
    c.keys(args, STEP_KEYS[kind] | COMMON_KEYS, where)
    actor = args.get("as")
    if actor is not None and actor not in ACTORS:
        c.fail(args.line_of("as"), f"{where}: 'as' must be one of {', '.join(ACTORS)}{closest(actor, ACTORS)}")
    if "expect" in args and "expect_error" in args:
        c.fail(args.line_of("expect_error"), f"{where}: use 'expect' or 'expect_error', not both")
    if "expect_error" in args:
        _check_expect_error(c, where, args)
    for key in ("expect", "require"):
        if key in args:
            _check_spec(c, where, args[key], args.line_of(key))
    _check_placeholders(c, where, args, saved, variables)
    if "job" in STEP_KEYS[kind]:
        _require_saved(c, where, args, "job", saved)
    if kind == "cancel_many":
        jobs = args.get("jobs")
        if not isinstance(jobs, list) or not jobs or not all(isinstance(j, str) for j in jobs):
            c.fail(args.line_of("jobs"), f"{where}: 'jobs' must be a non-empty list of saved job names")
        for name in jobs:
            if name not in saved:
                c.fail(args.line_of("jobs"), f"{where}: job {name!r} was never saved{closest(name, saved)}")
    if kind == "wait":
        until = args.get("until")
        statuses = until if isinstance(until, list) else [until]
        for status in statuses:
            if status not in protocol.ALL_STATUSES:
                c.fail(args.line_of("until"), f"{where}: 'until' must be statuses among "
                                               f"{', '.join(sorted(protocol.ALL_STATUSES))}, got {status!r}"
                                               f"{closest(status, protocol.ALL_STATUSES)}")
        if "timeout" in args and parse_duration(args["timeout"]) is None:
            c.fail(args.line_of("timeout"), f"{where}: 'timeout' must be a duration such as 30s, 500ms or 2m, "
                                             f"got {args['timeout']!r}")
    if kind == "create":
        for key in ("payload", "extra"):
            c.type(args, key, (dict,), where, "a mapping")
        for key in ("platform", "job_name", "pcvl_version", "process_id", "raw_body"):
            c.type(args, key, (str,), where, "a string")
        c.type(args, "count", (int,), where, "an integer")
        if "count" in args and not 1 <= args["count"] <= 100:
            c.fail(args.line_of("count"), f"{where}: 'count' must be between 1 and 100")
        if "body" in args and "raw_body" in args:
            c.fail(args.line_of("raw_body"), f"{where}: use 'body' or 'raw_body', not both")
    if kind == "platform":
        c.type(args, "name", (str,), where, "a string")
        c.type(args, "legacy", (bool,), where, "true or false")
    if kind == "list_all":
        c.type(args, "filters", (dict,), where, "a mapping")
        for key in args.get("filters", {}):
            if key not in protocol.LIST_FILTERS:
                c.fail(args.line_of("filters"), f"{where}: unknown filter {key!r}{closest(key, protocol.LIST_FILTERS)}")
    if "save" in args:
        if not isinstance(args["save"], str) or not _NAME.match(args["save"]):
            c.fail(args.line_of("save"), f"{where}: 'save' must be a name (letters, digits, _ or -)")
        if "expect_error" in args:
            c.fail(args.line_of("save"), f"{where}: a step expecting an error cannot save a job")
        saved[args["save"]] = kind == "create" and args.get("count", 1) > 1
    return Step(index=index, kind=kind, args=dict(args), line=line)


def _require_saved(c: _Checker, where: str, args: LineDict, key: str, saved: dict[str, bool]) -> None:
    name = args.get(key)
    if not isinstance(name, str):
        c.fail(args.line_of(key) if key in args else args.line, f"{where}: '{key}' is required: the name of a saved job")
    if name not in saved:
        c.fail(args.line_of(key), f"{where}: job {name!r} was never saved by an earlier step{closest(name, saved)}")


def _check_expect_error(c: _Checker, where: str, args: LineDict) -> None:
    spec = args["expect_error"]
    line = args.line_of("expect_error")
    if not isinstance(spec, dict) or not spec or not set(spec) <= {"status", "message"}:
        c.fail(line, f"{where}: 'expect_error' must be a mapping of 'status' (an HTTP status) and/or 'message'")
    status = spec.get("status")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599 or
                                   isinstance(status, list) and all(isinstance(s, int) for s in status)):
        c.fail(line, f"{where}: 'expect_error.status' must be an HTTP error status (400-599), got {status!r}")


def _check_spec(c: _Checker, where: str, spec: Any, line: int) -> None:
    if isinstance(spec, dict):
        if set(spec) <= MATCHER_KEYS and spec:
            kinds = spec.get("type")
            for kind in (kinds if isinstance(kinds, list) else [kinds] if kinds is not None else []):
                if kind not in TYPES:
                    c.fail(getattr(spec, "line", line), f"{where}: unknown type {kind!r}{closest(kind, TYPES)}; "
                                                         f"types: {', '.join(TYPES)}")
            if "regex" in spec:
                try:
                    re.compile(spec["regex"])
                except (re.error, TypeError) as exc:
                    c.fail(getattr(spec, "line", line), f"{where}: bad regex {spec['regex']!r} ({exc})")
            if "one_of" in spec and not isinstance(spec["one_of"], list):
                c.fail(getattr(spec, "line", line), f"{where}: 'one_of' must be a list")
        for key, sub in spec.items():
            _check_spec(c, where, sub, spec.line_of(key) if isinstance(spec, LineDict) else line)
    elif isinstance(spec, list):
        for sub in spec:
            _check_spec(c, where, sub, line)


def _check_placeholders(c: _Checker, where: str, value: Any, saved: dict[str, bool], variables: dict[str, Any],
                        line: int | None = None) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _check_placeholders(c, where, sub, saved, variables,
                                value.line_of(key) if isinstance(value, LineDict) else line)
    elif isinstance(value, list):
        for sub in value:
            _check_placeholders(c, where, sub, saved, variables, line)
    elif isinstance(value, str):
        for head, attr in _PLACEHOLDER.findall(value):
            if head in ("platform", "run_id", "slow_platform") and not attr:
                continue
            if head == "vars":
                if attr not in variables:
                    c.fail(line, f"{where}: '{{vars.{attr}}}' names no variable{closest(attr, variables)}")
                continue
            if head not in saved:
                c.fail(line, f"{where}: '{{{head}{'.' + attr if attr else ''}}}' refers to a job never saved"
                             f"{closest(head, list(saved) + ['platform', 'run_id', 'vars'])}")
            if attr and attr not in ("id",):
                c.fail(line, f"{where}: '{{{head}.{attr}}}': a saved job has only '.id'")
