"""What a step kind is made of: argument types (words, JSON Schema, check), arguments, and :class:`StepKind`.

Each kind lives in one module of this package (its shape, its load rules and its behaviour together); the
loader's argument checks, the JSON Schema and the docs' step table are all derived from them, so a limit
such as ``count <= 100`` is written once.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_cloudjob import protocol
from pytest_cloudjob.durations import DURATION_PATTERN, DURATION_WORDS, MAX_DURATION_SECONDS, parse_duration
from pytest_cloudjob.scenarios.matchers import short
from pytest_cloudjob.scenarios.paths import path_problem
from pytest_cloudjob.text import closest

if TYPE_CHECKING:
    from pytest_cloudjob.api.cloud_objects import User
    from pytest_cloudjob.scenarios.model import Step
    from pytest_cloudjob.scenarios.runner import ScenarioRunner

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
    #: Its value must be known at load time (a whole placeholder cannot stand for it): it names jobs,
    #: bounds a loop, picks the caller or is a duration parsed once, when the scenario is loaded.
    typed_now: bool = False
    #: The client's name for it when that differs (``platform`` is a job's ``platform_name``).
    field: str = ""


#: What a step does when it runs: ``(runner, step, actor) -> the answer expect: checks``.
Handler = Callable[["ScenarioRunner", "Step", "User"], Any]


@dataclass(frozen=True)
class StepKind:
    """One step kind: its arguments (beyond the common ones), what is required, its answer, and what it does."""

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
    #: Its behaviour; ``None`` only for ``include``, which the loader expands in its place.
    run: Handler | None = None
    arg_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg_names", frozenset(a.name for a in self.args))

    def arg(self, name: str) -> Arg:
        return {a.name: a for a in self.args}.get(name) or COMMON[name]

    def seconds(self, args: Mapping[str, Any]) -> dict[str, float]:
        """Its duration arguments in seconds, parsed once at load (their values were checked already):
        ``eventually`` (and ``eventually.interval`` when written as a mapping), ``max_time``, ``timeout``."""
        out: dict[str, float] = {}
        for key, value in args.items():
            kind = self.arg(key).type if key in self.arg_names or key in COMMON else None
            if kind is EVENTUALLY and isinstance(value, dict):
                out[key], out[f"{key}.interval"] = _seconds(value["timeout"]), _seconds(value.get("interval", 0.5))
            elif kind is EVENTUALLY or kind is DURATION:
                out[key] = _seconds(value)
        return out


def _seconds(value: Any) -> float:
    seconds = parse_duration(value)
    assert seconds is not None, "checked by the loader before it is parsed"
    return seconds


STATUS_FIELDS = ("status", "progress", "progress_message", "status_message", "failure_code", "creation_datetime",
                 "start_time", "duration")
JOB_ARG = Arg("job", JOB, "a saved job, or a saved list: each of its jobs", typed_now=True)
COMMON: dict[str, Arg] = {a.name: a for a in (
    Arg("as", ACTOR, "who calls: `user`, `other`, `admin`, `anonymous` (no token), `wrong-token`", typed_now=True),
    Arg("expect", SPEC, "the answer must match"),
    Arg("expect_error", EXPECT_ERROR, "the call must fail so: `{status: 403, message: ...}`"),
    Arg("require", SPEC, "a precondition: unmet, the scenario is skipped as not conclusive"),
    Arg("description", STRING, "free text"),
    Arg("save", SAVE_FIELDS, "save fields of the answer for later placeholders: `{name: path.0.field}`",
        typed_now=True),
    Arg("eventually", EVENTUALLY, "repeat the step until its expectation holds, within this time", typed_now=True),
    Arg("max_time", DURATION, "the step must take at most this long (with `eventually`, until it held)",
        typed_now=True),
)}
COMMON_EXCLUSIVE = (("expect", "expect_error"),)


StepSpec = StepKind  # the name the schema and the loader knew it by
