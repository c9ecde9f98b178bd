"""The scenario format: what a scenario and each step may say, checked before anything runs.

The step vocabulary is the table of :mod:`.steps`; the matchers' is the table of :mod:`.matchers`. Every
error names the file, the line and what is wrong, and suggests the closest name for a typo.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from pytest_cloudjob.physics import compose
from pytest_cloudjob.scenarios import placeholders
from pytest_cloudjob.scenarios.loader import STEPS_FILE_WORDS, LineDict, LineList, ScenarioFormatError, load_documents
from pytest_cloudjob.scenarios.matchers import is_matcher, validate_spec
from pytest_cloudjob.scenarios.steps import ACTORS, COMMON, COMMON_EXCLUSIVE, NAME_PATTERN, STEPS, StepKind
from pytest_cloudjob.text import closest

SCENARIO_KEYS = ("name", "description", "platforms", "user", "vars", "parametrize", "marks", "steps", "severity")
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")
MAX_INCLUDE_DEPTH = 8
MAX_ROWS = 100
#: Steps of one scenario once its ``include:`` steps are expanded: 10 files that each include the next 10
#: times expand to 10^10 steps, so the count is bounded as it grows (a documented limit, far above real use).
MAX_STEPS = 10_000


@dataclass
class Step:
    index: int
    kind: str
    args: dict[str, Any]
    line: int
    path: Path = Path()
    #: Its durations in seconds, parsed once at load (:meth:`StepKind.seconds`).
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"step {self.index} ({self.kind})"

    @property
    def spec(self) -> StepKind:
        return STEPS[self.kind]


@dataclass
class Scenario:
    name: str
    path: Path
    line: int
    steps: list[Step]
    description: str = ""
    platforms: tuple[str, ...] = ()
    platforms_line: int = 0
    user: str = "user"
    vars: dict[str, Any] = field(default_factory=dict)
    marks: tuple[str, ...] = ()
    marks_line: int = 0
    severity: str = "normal"
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: The ``parametrize:`` row this scenario runs (its id, as in the test name), or ``""``.
    row: str = ""

    def expanded(self) -> list[Scenario]:
        """One scenario per row of ``parametrize:`` (its values as vars, its id in the name); else itself."""
        if not self.rows:
            return [self]
        return [replace(self, name=f"{self.name}[{_row_id(row)}]", vars={**self.vars, **row}, rows=[], row=_row_id(row))
                for row in self.rows]


def _row_id(row: dict[str, Any]) -> str:
    return str(row["id"]) if "id" in row else ",".join(f"{k}={v}" for k, v in row.items())


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int | None, message: str) -> NoReturn:
        raise ScenarioFormatError(self.path, line, message)

    def keys(self, mapping: LineDict, allowed: Any, what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.fail(mapping.line_of(key), f"{what}: unknown key {key!r}{closest(key, allowed)}; "
                                                f"allowed: {', '.join(sorted(allowed))}")

    def is_type(self, mapping: LineDict, key: str, kinds: tuple[type, ...], what: str, words: str) -> None:
        if key in mapping and (not isinstance(mapping[key], kinds) or isinstance(mapping[key], bool) and bool not in kinds):
            self.fail(mapping.line_of(key), f"{what}: '{key}' must be {words}, got {type(mapping[key]).__name__} "
                                            f"{mapping[key]!r}")


def parse_scenario(document: Any, path: Path, doc_index: int,
                   included: dict[Path, list[Any]] | None = None) -> Scenario:
    """A checked :class:`Scenario` from one YAML document, or :class:`ScenarioFormatError`.

    ``included`` keeps the documents of each steps file read so far: pass one mapping for all the
    documents of a file so that each steps file is read once, however many times it is included.
    """
    c = _Checker(path)
    if not isinstance(document, LineDict):
        c.fail(getattr(document, "line", None), f"document {doc_index + 1} must be a mapping with 'name' and 'steps'")
    c.keys(document, SCENARIO_KEYS, "scenario")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        c.fail(document.line_of("name"), "scenario: 'name' is required and must be a non-empty string")
    what = f"scenario {name!r}"
    for key in ("description", "user", "severity"):
        c.is_type(document, key, (str,), what, "a string")
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
        if not re.match(NAME_PATTERN, mark):
            c.fail(document.line_of("marks"), f"{what}: mark {mark!r} is not a valid name")
    variables = document.get("vars", {})
    if not isinstance(variables, dict):
        c.fail(document.line_of("vars"), f"{what}: 'vars' must be a mapping")
    _check_variables(c, what, variables)
    rows = _rows(c, what, document)
    steps = document.get("steps")
    if not isinstance(steps, LineList) or not steps:
        c.fail(document.line_of("steps") if "steps" in document else document.line,
               f"{what}: 'steps' is required and must be a non-empty list")
    known_vars = set(variables).union(*(set(row) for row in rows)) if rows else set(variables)
    parser = _StepParser(what, known_vars, {} if included is None else included)
    parser.parse_list(c, steps, (path.resolve(),))
    return Scenario(name=name.strip(), path=path, line=document.line, steps=parser.steps,
                    description=document.get("description", ""), platforms=tuple(document.get("platforms", [])),
                    platforms_line=document.line_of("platforms"), user=user, vars=dict(variables),
                    marks=tuple(document.get("marks", [])), marks_line=document.line_of("marks"),
                    severity=severity, rows=rows)


#: How long the text of one variable may grow once its ``{vars.x}`` placeholders are filled in.
MAX_VARIABLE_CHARS = 1_000_000


def _check_variables(c: _Checker, what: str, variables: dict[str, Any]) -> None:
    """Refuse variables that refer to themselves (the runner would recurse for ever) or that grow past
    :data:`MAX_VARIABLE_CHARS` once filled in (each doubling the next: a "billion laughs" of placeholders)."""
    sizes: dict[str, int] = {}
    chain: list[str] = []

    def line_of(name: str) -> int | None:
        return variables.line_of(name) if isinstance(variables, LineDict) else None

    def size(value: Any) -> int:
        if isinstance(value, str):
            return len(value) + sum(size_of(path[0]) for head, path, _ in placeholders.found_in(value)
                                    if head == "vars" and path and path[0] in variables)
        if isinstance(value, list):
            return sum(size(v) for v in value)
        if isinstance(value, dict):
            return sum(size(k) + size(v) for k, v in value.items())
        return 8

    def size_of(name: str) -> int:
        if name in sizes:
            return sizes[name]
        if name in chain:
            loop = " -> ".join(chain[chain.index(name):] + [name])
            c.fail(line_of(chain[0]), f"{what}: variable {chain[0]!r} refers to itself ({loop})")
        chain.append(name)
        sizes[name] = size(variables[name])
        chain.pop()
        if sizes[name] > MAX_VARIABLE_CHARS:
            first = chain[0] if chain else name
            through = f" through {{vars.{name}}}" if first != name else ""
            c.fail(line_of(first), f"{what}: variable {first!r} grows past {MAX_VARIABLE_CHARS:,} characters once its "
                                   f"placeholders are filled in{through} ({sizes[name]:,})")
        return sizes[name]

    for name in variables:
        size_of(name)


def _rows(c: _Checker, what: str, document: LineDict) -> list[dict[str, Any]]:
    if "parametrize" not in document:
        return []
    rows, line = document["parametrize"], document.line_of("parametrize")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) and r for r in rows):
        c.fail(line, f"{what}: 'parametrize' must be a non-empty list of mappings (one per run: name -> value)")
    if len(rows) > MAX_ROWS:
        c.fail(line, f"{what}: 'parametrize' has {len(rows)} rows; at most {MAX_ROWS}")
    ids = [_row_id(row) for row in rows]
    for i, row_id in enumerate(ids):
        if row_id in ids[:i]:
            c.fail(line, f"{what}: 'parametrize' rows {ids.index(row_id) + 1} and {i + 1} have the same id {row_id!r}; "
                         "give each an 'id'")
    return [dict(row) for row in rows]


class _StepParser:
    """Parses a scenario's steps in order, remembering what each step saved for the steps after it."""

    def __init__(self, what: str, variables: set[str], included: dict[Path, list[Any]]) -> None:
        self.what = what
        self.variables = variables
        self.included = included
        self.saved: dict[str, str] = {}  # name -> "job", "jobs" (a list of jobs) or "value"
        self.steps: list[Step] = []
        self.top: tuple[_Checker, int] | None = None  # the scenario file's step being expanded

    def parse_list(self, c: _Checker, steps: LineList, chain: tuple[Path, ...]) -> None:
        for i, raw in enumerate(steps):
            if len(chain) == 1:
                self.top = (c, steps.item_lines[i])
            self.parse_step(c, raw, steps.item_lines[i], chain)

    def parse_step(self, c: _Checker, raw: Any, line: int, chain: tuple[Path, ...]) -> None:
        index = len(self.steps) + 1
        what = self.what
        if index > MAX_STEPS:
            top, top_line = self.top or (c, line)
            inner = f" (step {index:,} comes from {c.path}:{line})" if c is not top else ""
            top.fail(top_line, f"{what}: more than {MAX_STEPS:,} steps once its includes are expanded{inner}; "
                               f"a scenario runs at most {MAX_STEPS:,}")
        if not isinstance(raw, LineDict) or len(raw) != 1:
            c.fail(line, f"{what}, step {index}: a step is a mapping with exactly one kind, one of {', '.join(STEPS)}")
        kind, args = next(iter(raw.items()))
        if kind not in STEPS:
            c.fail(line, f"{what}, step {index}: unknown step {kind!r}{closest(kind, STEPS)}; steps: {', '.join(STEPS)}")
        if args is None:
            args = LineDict()
            args.line, args.key_lines = line, {}
        if kind == "include" and isinstance(args, str):
            args = LineDict(file=args)
            args.line, args.key_lines = line, {"file": line}
        if not isinstance(args, LineDict):
            c.fail(line, f"{what}, step {index} ({kind}): its arguments must be a mapping, got {type(args).__name__}")
        spec = STEPS[kind]
        where = f"{what}, step {index} ({kind})"
        self.check_args(c, where, spec, args)
        if kind == "include":
            self.include(c, where, args, chain)
            return
        self.check_expectations(c, where, spec, args)
        if kind == "create":
            _compile_experiment(c, where, args)
        _check_placeholders(c, where, args, self.saved, self.variables)
        if "job" in spec.arg_names:
            name = args["job"]
            if name not in self.saved or self.saved[name] == "value":
                c.fail(args.line_of("job"), f"{where}: job {name!r} was never saved by an earlier step"
                                            f"{closest(name, self.jobs())}")
        for name in args.get("jobs", []):
            if name not in self.jobs():
                c.fail(args.line_of("jobs"), f"{where}: job {name!r} was never saved{closest(name, self.jobs())}")
        if "eventually" in args and not spec.repeatable:
            c.fail(args.line_of("eventually"), f"{where}: 'eventually' repeats a step; a {kind} step is not safe to "
                                               "repeat (it would make new jobs)")
        if "save" in args:
            if "expect_error" in args:
                c.fail(args.line_of("save"), f"{where}: a step expecting an error cannot save anything")
            save = args["save"]
            if isinstance(save, str):  # a create with a count, or a rerun of a list, saves a list
                many = args.get("count", 1) > 1 or self.saved.get(args.get("job", ""), "") == "jobs"
                self.saved[save] = "jobs" if many else "job"
            else:
                self.saved.update({name: "value" for name in save})
        self.steps.append(Step(index=index, kind=kind, args=dict(args), line=line, path=chain[-1],
                               seconds=spec.seconds(args)))

    def jobs(self) -> list[str]:
        return [name for name, kind in self.saved.items() if kind != "value"]

    def check_args(self, c: _Checker, where: str, spec: StepKind, args: LineDict) -> None:
        allowed = spec.arg_names if spec.kind == "include" else spec.arg_names | set(COMMON)
        c.keys(args, allowed, where)
        for name in spec.required:
            if name not in args:
                c.fail(args.line, f"{where}: '{name}' is required: {spec.arg(name).type.words}")
        for key, value in args.items():
            if isinstance(value, str) and placeholders.whole(value) and not spec.arg(key).typed_now:
                continue  # its type is known once filled
            problem = spec.arg(key).type.problem(key, value)
            if problem:
                c.fail(args.line_of(key), f"{where}: {problem}")
        for first, second in COMMON_EXCLUSIVE + spec.exclusive:
            if first in args and second in args:
                c.fail(args.line_of(second), f"{where}: use '{first}' or '{second}', not both")

    def check_expectations(self, c: _Checker, where: str, spec: StepKind, args: LineDict) -> None:
        problems: list[tuple[int | None, str]]
        for key in ("expect", "require"):
            if key not in args:
                continue
            expected = args[key]
            if isinstance(expected, LineDict) and not is_matcher(expected):
                problems = [(line or expected.line_of(field), msg) for field, sub in expected.items()
                            for line, msg in validate_spec(sub, scalar=field in spec.scalar_fields)]
            else:
                problems = validate_spec(expected)
            if problems:
                line, message = problems[0]
                c.fail(line or args.line_of(key), f"{where}: {key}: {message}")
        message = args.get("expect_error", {}).get("message")
        problems = validate_spec(message) if message is not None else []
        if problems:
            c.fail(problems[0][0] or args.line_of("expect_error"), f"{where}: expect_error.message: {problems[0][1]}")

    def include(self, c: _Checker, where: str, args: LineDict, chain: tuple[Path, ...]) -> None:
        target = (chain[-1].parent / args["file"]).resolve()
        if target in chain:
            c.fail(args.line_of("file"), f"{where}: {args['file']!r} includes itself (through "
                                         f"{' -> '.join(p.name for p in chain)})")
        if len(chain) > MAX_INCLUDE_DEPTH:
            c.fail(args.line_of("file"), f"{where}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
        if not target.is_file():
            c.fail(args.line_of("file"), f"{where}: no steps file {str(target)!r}")
        documents = self.included.get(target)
        if documents is None:
            try:
                documents = self.included[target] = load_documents(target, steps_file=True)
            except ScenarioFormatError as exc:
                raise ScenarioFormatError(exc.path, exc.line, f"{exc.message} (included at {c.path}:"
                                                              f"{args.line_of('file')})") from None
        included = _Checker(target)
        steps = documents[0] if len(documents) == 1 else None
        if isinstance(steps, LineDict) and set(steps) == {"steps"}:
            steps = steps["steps"]
        if not isinstance(steps, LineList) or not steps:
            line = getattr(steps, "line", None) or getattr(documents[1] if len(documents) > 1 else None, "line", None)
            included.fail(line, f"{STEPS_FILE_WORDS} (included at {c.path}:{args.line_of('file')})")
        self.parse_list(included, steps, (*chain, target))


def _compile_experiment(c: _Checker, where: str, args: LineDict) -> None:
    """A ``payload.experiment`` written as components (docs/physics.md) becomes Perceval's serialized text
    now, so the step sends what Perceval sends; a mistake fails the file at its line. Without Perceval it
    is checked and left as written: the scenario is skipped, with the reason (``collect.physics_unavailable``)."""
    payload = args.get("payload")
    if not isinstance(payload, LineDict) or not compose.is_readable(payload.get("experiment")):
        return
    experiment = payload["experiment"]
    line = payload.line_of("experiment")
    written = _first_placeholder(experiment)
    if written is not None:
        c.fail(line, f"{where}: payload.experiment: {written} cannot stand in an experiment written as components: "
                     "it is compiled when the file loads, before any placeholder is filled")
    try:
        checked = compose.plan(experiment, line)
        if compose_unavailable() is None:
            payload["experiment"] = compose.serialized_plan(checked)
    except compose.ExperimentSpecError as exc:
        c.fail(exc.line or line, f"{where}: payload.{exc.message}" if exc.message.startswith("experiment")
               else f"{where}: payload.experiment: {exc.message}")


def compose_unavailable() -> str | None:
    """Why an experiment written as components cannot be compiled here (Perceval missing), or ``None``."""
    from pytest_cloudjob.physics import simulate

    return simulate.unavailable_reason()


def _first_placeholder(value: Any) -> str | None:
    if isinstance(value, dict):
        value = list(value.keys()) + list(value.values())
    if isinstance(value, list):
        return next((found for item in value if (found := _first_placeholder(item)) is not None), None)
    if isinstance(value, str):
        match = placeholders.PLACEHOLDER.search(value)
        return match.group(0) if match else None
    return None


def _check_placeholders(c: _Checker, where: str, value: Any, saved: dict[str, str], variables: set[str],
                        line: int | None = None) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _check_placeholders(c, where, sub, saved, variables, value.line_of(key) if isinstance(value, LineDict) else line)
    elif isinstance(value, list):
        for sub in value:
            _check_placeholders(c, where, sub, saved, variables, line)
    elif isinstance(value, str):
        for head, path, written in placeholders.found_in(value):
            problem = _placeholder_problem(head, path, written, saved, variables)
            if problem:
                c.fail(line, f"{where}: {problem}")


def _placeholder_problem(head: str, path: list[str], written: str, saved: dict[str, str],
                         variables: set[str]) -> str | None:
    if head in placeholders.RUN_VALUES:
        return f"'{written}' takes no field" if path else None
    if head == "vars":
        if not path or path[0] not in variables:
            return f"'{written}' names no variable{closest(path[0] if path else '', variables)}"
        return None
    if head == "env":
        return None if len(path) == 1 else f"'{written}': write '{{env.NAME}}' with one variable name"
    kind = saved.get(head)
    if kind is None:
        return (f"'{written}' refers to a job never saved (nor a saved value)"
                f"{closest(head, [*saved, *placeholders.RUN_VALUES, *placeholders.NAMESPACES])}")
    if kind == "job" and path not in ([], ["id"]):
        return f"'{written}': a saved job has only '.id'"
    if kind == "jobs" and not (path in ([], ["id"]) or path[0].isdigit() and path[1:] in ([], ["id"])):
        return f"'{written}': a saved list of jobs takes '.id' (all ids) or '.<index>.id'"
    return None
