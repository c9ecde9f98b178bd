"""The step vocabulary as one table: each step kind, its arguments, their types and what ``expect:`` sees.

The loader's argument checks, the JSON Schema and the docs' step table are all derived from :data:`STEPS`,
so a limit such as ``count <= 100`` is written once, here.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_cloudjob import protocol
from pytest_cloudjob.durations import DURATION_PATTERN, DURATION_WORDS, MAX_DURATION_SECONDS, parse_duration
from pytest_cloudjob.scenarios.matchers import closest, short
from pytest_cloudjob.scenarios.paths import path_problem

NAME_PATTERN = r"^[A-Za-z_][\w-]*$"
ACTORS = ("user", "other", "admin", "anonymous", "wrong-token")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_COUNT = 100


@dataclass(frozen=True)
class ArgType:
    """What an argument accepts: words for messages and docs, a JSON Schema, and a check."""

    words: str
    schema: Mapping[str, Any]
    accepts: Callable[[Any], bool] = lambda value: True
    #: A message of its own for a refused value (e.g. with a suggestion), else "'x' must be <words>, got ...".
    explain: Callable[[Any], str | None] = lambda value: None

    def problem(self, name: str, value: Any) -> str | None:
        if self.accepts(value):
            return None
        return self.explain(value) or f"'{name}' must be {self.words}, got {type(value).__name__} {short(value, 60)}"


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and re.match(NAME_PATTERN, value) is not None


def _statuses(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _explain_statuses(value: Any) -> str | None:
    for status in _statuses(value):
        if not isinstance(status, str) or status not in protocol.ALL_STATUSES:
            return (f"'until' must be statuses among {', '.join(sorted(protocol.ALL_STATUSES))}, got {status!r}"
                    f"{closest(status, protocol.ALL_STATUSES)}")
    return None


def _explain_filters(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    unknown = [key for key in value if key not in protocol.LIST_FILTERS]
    return f"'filters' has an unknown filter {unknown[0]!r}{closest(unknown[0], protocol.LIST_FILTERS)}" if unknown else None


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


#: An HTTP header name (RFC 9110 token); a value is a plain value without control characters, so a
#: filled ``\r\n`` can never add a header or a request of its own.
HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
_HEADER_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _is_header(name: Any, value: Any) -> bool:
    return (isinstance(name, str) and re.match(HEADER_NAME, name) is not None and _scalar(value)
            and not _HEADER_VALUE_CONTROL.search(str(value)))


_STATUS = {"enum": sorted(protocol.ALL_STATUSES)}
STRING = ArgType("a string", {"type": "string"}, lambda v: isinstance(v, str))
MAPPING = ArgType("a mapping", {"type": "object"}, lambda v: isinstance(v, dict))
BOOLEAN = ArgType("true or false", {"type": "boolean"}, lambda v: isinstance(v, bool))
ANY = ArgType("any value", {})
NAME = ArgType("a name (letters, digits, _ or -)", {"type": "string", "pattern": NAME_PATTERN}, _is_name)
DURATION = ArgType(DURATION_WORDS, {"oneOf": [{"type": "number", "exclusiveMinimum": 0,
                                               "maximum": MAX_DURATION_SECONDS},
                                              {"type": "string", "pattern": DURATION_PATTERN}],
                                    "description": "30s, 500ms, 2m or a number of seconds"},
                   lambda v: parse_duration(v) is not None)
COUNT = ArgType(f"between 1 and {MAX_COUNT} (an integer)", {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_COUNT)
STATUSES = ArgType("a status or a list of statuses",
                   {"oneOf": [_STATUS, {"type": "array", "items": _STATUS, "minItems": 1}]},
                   lambda v: bool(_statuses(v)) and all(isinstance(s, str) and s in protocol.ALL_STATUSES for s in _statuses(v)),
                   _explain_statuses)
FILTERS = ArgType(f"a mapping of filters ({', '.join(protocol.LIST_FILTERS)})",
                  {"type": "object", "propertyNames": {"enum": list(protocol.LIST_FILTERS)}},
                  lambda v: isinstance(v, dict) and set(v) <= set(protocol.LIST_FILTERS), _explain_filters)
JOB = ArgType("the name of a saved job", {"type": "string", "pattern": NAME_PATTERN,
                                          "description": "a job saved by an earlier step"}, _is_name)
JOBS = ArgType("a non-empty list of saved job names", {"type": "array", "items": NAME.schema, "minItems": 1},
               lambda v: isinstance(v, list) and bool(v) and all(_is_name(j) for j in v))
ACTOR = ArgType(f"one of {', '.join(ACTORS)}", {"enum": list(ACTORS)}, lambda v: v in ACTORS,
                lambda v: f"'as' must be one of {', '.join(ACTORS)}{closest(v, ACTORS)}")
SPEC = ArgType("a value or matcher spec", {"$ref": "#/$defs/spec"})
EXPECT_ERROR = ArgType(
    "a mapping of 'status' (an HTTP error status) and/or 'message'",
    {"type": "object", "minProperties": 1, "additionalProperties": False,
     "properties": {"status": {"oneOf": [{"type": "integer", "minimum": 400, "maximum": 599},
                                         {"type": "array", "items": {"type": "integer", "minimum": 400,
                                                                     "maximum": 599}}]},
                    "message": {"$ref": "#/$defs/spec"}}},
    lambda v: isinstance(v, dict) and bool(v) and set(v) <= {"status", "message"} and _error_statuses(v.get("status")),
    lambda v: (f"'expect_error.status' must be an HTTP error status (400-599), got {v.get('status')!r}"
               if isinstance(v, dict) and set(v) <= {"status", "message"} and v else None))
SAVE_FIELDS = ArgType("a mapping of name -> field path of the answer (e.g. {first: jobs.0.job_id})",
                      {"type": "object", "minProperties": 1, "propertyNames": NAME.schema,
                       "additionalProperties": {"type": "string"}},
                      lambda v: isinstance(v, dict) and bool(v) and all(_is_name(k) and isinstance(p, str)
                                                                         for k, p in v.items()))
SAVE_JOB = ArgType("a name for the job(s), or a mapping of name -> field path",
                   {"oneOf": [{**NAME.schema, "description": "name the job(s) for later steps"}, SAVE_FIELDS.schema]},
                   lambda v: _is_name(v) or SAVE_FIELDS.accepts(v))
EVENTUALLY = ArgType("a duration, or {timeout: <duration>, interval: <duration>}",
                     {"oneOf": [DURATION.schema, {"type": "object", "additionalProperties": False,
                                                  "required": ["timeout"],
                                                  "properties": {"timeout": DURATION.schema,
                                                                 "interval": DURATION.schema}}]},
                     lambda v: parse_duration(v) is not None or (
                         isinstance(v, dict) and "timeout" in v and set(v) <= {"timeout", "interval"}
                         and all(parse_duration(x) is not None for x in v.values())))
METHOD = ArgType(f"an HTTP method ({', '.join(HTTP_METHODS)})", {"enum": list(HTTP_METHODS)},
                 lambda v: v in HTTP_METHODS, lambda v: f"'method' must be one of {', '.join(HTTP_METHODS)}"
                                                        f"{closest(str(v).upper(), HTTP_METHODS)}")
PATH = ArgType("a path starting with /", {"type": "string", "pattern": "^/(?!/)"},
               lambda v: path_problem(v) is None, lambda v: f"'path' {path_problem(v)}: {short(v, 60)}")
HEADERS = ArgType("a mapping of header names to plain values (no CR, LF or other control characters)",
                  {"type": "object", "propertyNames": {"pattern": HEADER_NAME},
                   "additionalProperties": {"type": ["string", "number", "boolean"]}},
                  lambda v: isinstance(v, dict) and all(_is_header(k, x) for k, x in v.items()))
SCALARS = ArgType("a mapping of names to plain values", {"type": "object", "additionalProperties":
                                                         {"type": ["string", "number", "boolean"]}},
                  lambda v: isinstance(v, dict) and all(_scalar(x) for x in v.values()))
INCLUDE = ArgType("the path of a steps file, relative to this file", {"type": "string", "minLength": 1},
                  lambda v: isinstance(v, str) and bool(v.strip()))


def _error_statuses(status: Any) -> bool:
    statuses = status if isinstance(status, list) else [status]
    return status is None or all(isinstance(s, int) and not isinstance(s, bool) and 400 <= s <= 599 for s in statuses)


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType
    doc: str = ""


@dataclass(frozen=True)
class StepSpec:
    """One step kind: its arguments (beyond the common ones), what is required, and its answer."""

    kind: str
    args: tuple[Arg, ...]
    answer: str
    required: tuple[str, ...] = ()
    exclusive: tuple[tuple[str, str], ...] = ()
    #: Fields of the answer the protocol says are not objects (so a mapping there must be a matcher).
    scalar_fields: tuple[str, ...] = ()
    #: Whether repeating it is harmless (``eventually:`` polls it).
    repeatable: bool = True
    names_jobs: bool = False
    arg_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg_names", frozenset(a.name for a in self.args))

    def arg(self, name: str) -> Arg:
        return {a.name: a for a in self.args}.get(name) or COMMON[name]


STATUS_FIELDS = ("status", "progress", "progress_message", "status_message", "failure_code", "creation_datetime",
                 "start_time", "duration")
_JOB = Arg("job", JOB, "a saved job, or a saved list: each of its jobs")
COMMON: dict[str, Arg] = {a.name: a for a in (
    Arg("as", ACTOR, "who calls: `user`, `other`, `admin`, `anonymous` (no token), `wrong-token`"),
    Arg("expect", SPEC, "the answer must match"),
    Arg("expect_error", EXPECT_ERROR, "the call must fail so: `{status: 403, message: ...}`"),
    Arg("require", SPEC, "a precondition: unmet, the scenario is skipped as not conclusive"),
    Arg("description", STRING, "free text"),
    Arg("save", SAVE_FIELDS, "save fields of the answer for later placeholders: `{name: path.0.field}`"),
    Arg("eventually", EVENTUALLY, "repeat the step until its expectation holds, within this time"),
    Arg("max_time", DURATION, "the step must take at most this long (with `eventually`, until it held)"),
)}
COMMON_EXCLUSIVE = (("expect", "expect_error"),)

STEPS: dict[str, StepSpec] = {s.kind: s for s in (
    StepSpec("create", (
        Arg("payload", MAPPING, "merged over the default payload"),
        Arg("platform", STRING), Arg("job_name", STRING), Arg("pcvl_version", STRING), Arg("process_id", STRING),
        Arg("extra", MAPPING, "more body fields"),
        Arg("body", ANY, "send exactly this JSON"),
        Arg("raw_body", STRING, "send this text"),
        Arg("count", COUNT, "create this many"),
        Arg("save", SAVE_JOB, "a name for the job, a list with `count`; or fields"),
    ), "`{job_id}` (a list with `count`)", exclusive=(("body", "raw_body"),), scalar_fields=("job_id",),
        repeatable=False, names_jobs=True),
    StepSpec("status", (_JOB,), "the status body", ("job",), scalar_fields=STATUS_FIELDS),
    StepSpec("wait", (_JOB, Arg("until", STATUSES, "a status or a list"),
                      Arg("timeout", DURATION, "default `--cloud-timeout`")),
             "the final status body", ("job", "until"), scalar_fields=STATUS_FIELDS),
    StepSpec("results", (_JOB,), '`{results: "<JSON text>"}`', ("job",), scalar_fields=("results",)),
    StepSpec("read", (_JOB,), "the job record", ("job",)),
    StepSpec("cancel", (_JOB,), "the cancel answer", ("job",)),
    StepSpec("rerun", (_JOB, Arg("save", SAVE_JOB, "a name for the new job, or fields")),
             "`{job_id}` of the new job", ("job",), scalar_fields=("job_id",), repeatable=False, names_jobs=True),
    StepSpec("platform", (Arg("name", STRING, "default `{platform}`"), Arg("legacy", BOOLEAN, "the older path")),
             "the platform details"),
    StepSpec("list_all", (Arg("filters", FILTERS, ", ".join(f"`{f}`" for f in protocol.LIST_FILTERS)),),
             "the list of job records"),
    StepSpec("cancel_many", (Arg("jobs", JOBS, "saved names"),), "the outcome per id", ("jobs",)),
    StepSpec("request", (
        Arg("method", METHOD, "default GET"), Arg("path", PATH, "below the cloud's URL, e.g. `/health`"),
        Arg("query", SCALARS), Arg("headers", HEADERS, "more request headers"),
        Arg("body", ANY, "sent as JSON"), Arg("raw_body", STRING, "sent as text"),
    ), "`{status, headers, body}`: `body` is the JSON answer (or its text); header names in lower case",
        ("path",), exclusive=(("body", "raw_body"),), scalar_fields=("status",)),
    StepSpec("include", (Arg("file", INCLUDE, "a YAML list of steps, inlined here"),),
             "nothing: its steps run in its place", ("file",)),
)}


def docs_table() -> str:
    """The docs' step table, from :data:`STEPS`."""
    rows = ["| step | arguments | what `expect:` is checked against |", "|---|---|---|"]
    for spec in STEPS.values():
        words = ", ".join(f"`{a.name}`" + (f" ({a.doc})" if a.doc else "") for a in spec.args)
        rows.append(f"| `{spec.kind}` | {words} | {spec.answer} |")
    rows += ["", "Every step (but `include`) also takes:", "",
             "| argument | meaning |", "|---|---|"]
    rows += [f"| `{a.name}` | {a.doc} |" for a in COMMON.values()]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    from pytest_cloudjob.scenarios.matchers import docs_table as matchers_table

    print(docs_table())
    print(matchers_table())
