"""Matchers of ``expect:``: one table says each matcher's argument, what it checks and how it is shown; the
loader's argument checks, the JSON Schema and the docs' matcher table are all derived from it.

Each check says, in one line, what it wanted and what came.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_cloudjob.api.errors import excerpt
from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import wire
from pytest_cloudjob.scenarios import placeholders
from pytest_cloudjob.text import closest, nearest

TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "json-text": lambda v: isinstance(v, str) and _parses(v),
    "uuid": lambda v: isinstance(v, str) and bool(re.fullmatch(r"[0-9a-fA-F-]{36}", v)),
}
PHYSICS_MODULE = "pytest_cloudjob.physics.distribution"
DATASHEET_MODULE = "pytest_cloudjob.physics.datasheet"
ACCEPTANCE_MODULE = "pytest_cloudjob.physics.acceptance"
#: The matchers that need the job's payload and platform (a ``DistributionContext``) and count in the run's budget.
STATISTICAL = ("distribution", "datasheet", "acceptance")
#: How close (difflib ratio) a key must be to a matcher name to be taken for a misspelt matcher.
NEAR_MISS = 0.75
_SPEC_REF = {"$ref": "#/$defs/spec"}
Problem = tuple[int | None, str]  # (line or None for "the line of the spec"), message


class MatcherTypo(CloudJobError, ValueError):
    """A spec that only a misspelt matcher explains; the runner reports it as a harness error."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def short(value: Any, limit: int = 160) -> str:
    """``value`` as JSON (a string quoted) on one line, cut by :func:`excerpt` (the package's one truncation)."""
    return excerpt(repr(value) if isinstance(value, str) else json.dumps(value, default=str), limit)


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- argument checks (load time, and again at run time once placeholders are filled) -------------------------
ArgCheck = Callable[[Any, Any], list[Problem]]  # (argument, its containing spec) -> problems


def _any(arg: Any, spec: Any) -> list[Problem]:
    return []


def _kind(test: Callable[[Any], bool], words: str) -> Callable[[str], ArgCheck]:
    def for_name(name: str) -> ArgCheck:
        def check_arg(arg: Any, spec: Any) -> list[Problem]:
            return [] if test(arg) else [(None, f"'{name}' must be {words}, got {type(arg).__name__} {short(arg, 60)}")]
        return check_arg
    return for_name


def _regex(arg: Any, spec: Any) -> list[Problem]:
    try:
        re.compile(arg)
    except (re.error, TypeError) as exc:
        return [(None, f"bad regex {arg!r} ({exc})")]
    return []


def _type(arg: Any, spec: Any) -> list[Problem]:
    names = arg if isinstance(arg, list) and arg else [arg]
    return [(None, f"unknown type {n!r}{closest(n, TYPES)}; types: {', '.join(TYPES)}") for n in names
            if not isinstance(n, str) or n not in TYPES]


def _tolerance(arg: Any, spec: Any) -> list[Problem]:
    problems = [(line, msg + _float_hint(arg))
                for line, msg in _kind(lambda v: is_number(v) and v >= 0, "a number >= 0")("tolerance")(arg, spec)]
    if isinstance(spec, Mapping) and "approx" not in spec:
        problems.append((None, "'tolerance' goes with 'approx' (approx: 1, tolerance: 1e-9)"))
    return problems


def _length(arg: Any, spec: Any) -> list[Problem]:
    if is_number(arg):
        return [] if isinstance(arg, int) and arg >= 0 else [(None, f"'length' must be a count >= 0, got {arg!r}")]
    return validate_spec(arg)


def _specs(arg: Any, spec: Any) -> list[Problem]:
    if not isinstance(arg, list):
        return [(None, f"expected a list of specs, got {type(arg).__name__} {short(arg, 60)}")]
    return [p for item in arg for p in validate_spec(item)]


def _fields(arg: Any, spec: Any) -> list[Problem]:
    if not isinstance(arg, Mapping) or not arg:
        return [(None, "'fields' must be a mapping of field name -> spec")]
    return [p for sub in arg.values() for p in validate_spec(sub)]


def _physics() -> Any:
    try:
        return importlib.import_module(PHYSICS_MODULE)
    except ImportError:
        return None


def _distribution(arg: Any, spec: Any) -> list[Problem]:
    module = _physics()
    if module is None:
        return [(None, f"the distribution matcher needs the physics module {PHYSICS_MODULE} "
                       "(pip install 'pytest-cloudjob[physics]')")]
    # said without a prefix: validate_spec names the matcher ("distribution: ...") once
    return [(None, problem) for problem in module.validate_distribution_spec(arg)]


def _datasheet(arg: Any, spec: Any) -> list[Problem]:
    try:
        module = importlib.import_module(DATASHEET_MODULE)
    except ImportError:
        return [(None, f"the datasheet matcher needs the physics module {DATASHEET_MODULE}")]
    return [(None, problem) for problem in module.validate_datasheet_spec(arg)]


def _acceptance(arg: Any, spec: Any) -> list[Problem]:
    try:
        module = importlib.import_module(ACCEPTANCE_MODULE)
    except ImportError:
        return [(None, f"the acceptance matcher needs the physics module {ACCEPTANCE_MODULE}")]
    return [(None, problem) for problem in module.validate_acceptance_spec(arg)]


@dataclass(frozen=True)
class MatcherSpec:
    """One matcher: its name, what it takes (checked and published), and when it passes (for the docs)."""

    name: str
    example: str
    passes_when: str
    schema: Mapping[str, Any]
    check_arg: ArgCheck


def _number(name: str) -> ArgCheck:
    plain = _kind(is_number, "a number")(name)

    def check_arg(arg: Any, spec: Any) -> list[Problem]:
        return [(line, msg + _float_hint(arg)) for line, msg in plain(arg, spec)]
    return check_arg


def _float_hint(arg: Any) -> str:
    """PyYAML reads ``1e-6`` (no dot, YAML 1.1) as text: say how to write it as a number."""
    if not isinstance(arg, str):
        return ""
    try:
        float(arg)
    except ValueError:
        return ""
    mantissa, _, exponent = arg.strip().lower().partition("e")
    written = (mantissa if "." in mantissa else mantissa + ".0") + (
        "e" + (exponent if exponent[:1] in "+-" else "+" + exponent) if exponent else "")
    return f" (for a number write {written}, unquoted)"


MATCHERS: dict[str, MatcherSpec] = {m.name: m for m in (
    MatcherSpec("equals", "equals: v", "equal (booleans are not numbers)", {}, _any),
    MatcherSpec("one_of", "one_of: [a, b]", "equal to one of them", {"type": "array"},
                _kind(lambda v: isinstance(v, list), "a list")("one_of")),
    MatcherSpec("regex", 'regex: "^qa_"', "a string matching it", {"type": "string"}, _regex),
    MatcherSpec("type", "type: string (or a list)", ", ".join(f"`{t}`" for t in TYPES),
                {"oneOf": [{"enum": list(TYPES)}, {"type": "array", "minItems": 1, "items": {"enum": list(TYPES)}}]},
                _type),
    MatcherSpec("min", "min: 0", "a number at least this", {"type": "number"}, _number("min")),
    MatcherSpec("max", "max: 1", "a number at most this", {"type": "number"}, _number("max")),
    MatcherSpec("approx", "approx: 1.0", "a number within `tolerance` of it (relative or absolute)",
                {"type": "number"}, _number("approx")),
    MatcherSpec("tolerance", "tolerance: 1e-6", "goes with `approx` (default 1e-6)",
                {"type": "number", "minimum": 0}, _tolerance),
    MatcherSpec("contains", "contains: x", "substring, list element or object key", {}, _any),
    MatcherSpec("not_contains", "not_contains: x", "not a substring, list element or object key", {}, _any),
    MatcherSpec("length", "length: 3 or length: {min: 1}", "a string, list or object whose size matches",
                {"anyOf": [{"type": "integer", "minimum": 0}, _SPEC_REF]}, _length),
    MatcherSpec("sum", "sum: 1000 or sum: {approx: 1, tolerance: 1e-9}",
                "the values of a list, an object or Perceval's `:PCVL:BSCount:`/`:PCVL:BSDistribution:` text add up to it "
                "(a spec: use `approx` for probabilities)",
                _SPEC_REF, lambda arg, spec: validate_spec(arg)),
    MatcherSpec("samples", 'samples: {min: 1, max: "{vars.shots}"}',
                "Perceval's results (a `:PCVL:BSCount:`/`:PCVL:BSSamples:` text, a mapping state -> count or a list "
                "of states) whose number of samples matches", _SPEC_REF, lambda arg, spec: validate_spec(arg)),
    MatcherSpec("differs_from", 'differs_from: "{first}"',
                "results other than these (another job's: a results JSON text's `results`, zipped forms unpacked)",
                {}, _any),
    MatcherSpec("json", "json: {...}", "a JSON text whose parsed value matches", _SPEC_REF,
                lambda arg, spec: validate_spec(arg)),
    MatcherSpec("exists", "exists: false", "the field is absent (`false`)", {"type": "boolean"},
                _kind(lambda v: isinstance(v, bool), "true or false")("exists")),
    MatcherSpec("includes", "includes: [{job_id: ...}]", "some element of a list matches each spec",
                {"type": "array", "items": _SPEC_REF}, _specs),
    MatcherSpec("excludes", "excludes: [...]", "no element of a list matches any spec",
                {"type": "array", "items": _SPEC_REF}, _specs),
    MatcherSpec("every", "every: {...}", "every element of a list matches", _SPEC_REF,
                lambda arg, spec: validate_spec(arg)),
    MatcherSpec("fields", "fields: {type: qpu}", "an object whose named fields match (for fields named like a matcher)",
                {"type": "object", "minProperties": 1, "additionalProperties": _SPEC_REF}, _fields),
    MatcherSpec("distribution", "distribution: {reference: ideal, alpha: 1e-6}",
                "measured results drawn from the reference distribution (needs the physics extra)",
                {"type": "object"}, _distribution),
    MatcherSpec("datasheet", "datasheet: {figure: g2, margin: 0.01}",
                "the platform's advertised figure (`transmittance`, `hom`, `g2`, `detector_efficiency`, with `mode: k` "
                "one detector's relative efficiency) within "
                "`margin` of its estimate from the results, at a guaranteed alpha (needs the physics extra)",
                {"type": "object"}, _datasheet),
    MatcherSpec("acceptance", "acceptance: {} or acceptance: {margin: 0.05, alpha: 1.0e-6}",
                "the reported `physical_perf` (x `logical_perf`) agrees with the samples kept of the `max_shots` "
                "shots: kept ~ Binomial(shots, perf / (1 - P(vacuum))), the vacuum from the platform's transmittance "
                "within `margin`, exact two-sided test at a guaranteed alpha; not conclusive for `probs`, samples "
                "capped at `max_samples`, no `physical_perf` (needs the physics extra)",
                {"type": "object", "properties": {
                    "alpha": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                    "margin": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}},
                 "additionalProperties": False}, _acceptance),
)}
MATCHER_KEYS = frozenset(MATCHERS)


def is_matcher(spec: Any) -> bool:
    return isinstance(spec, Mapping) and bool(spec) and set(spec) <= MATCHER_KEYS


def mentions(spec: Any, name: str) -> bool:
    """Whether matcher ``name`` is used anywhere in ``spec``."""
    if isinstance(spec, Mapping):
        return (is_matcher(spec) and name in spec) or any(mentions(v, name) for v in spec.values())
    return isinstance(spec, list) and any(mentions(v, name) for v in spec)


def misspelt_matcher(key: Any) -> str | None:
    """The matcher ``key`` is a near miss of (``one_off`` -> ``one_of``), or ``None``."""
    if not isinstance(key, str) or key in MATCHER_KEYS:
        return None
    return nearest(key, MATCHER_KEYS, NEAR_MISS)


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and placeholders.whole(value) is not None


def validate_spec(spec: Any, scalar: bool = False) -> list[Problem]:
    """Every mistake in an ``expect:`` spec knowable before a call: unknown matchers, bad arguments.

    ``scalar`` says the value checked is known not to be an object (a status, a job id): a mapping there
    cannot check fields, so a key that is not a matcher is reported as an unknown matcher.
    """
    if not isinstance(spec, Mapping) or not spec:
        return [p for item in spec for p in validate_spec(item)] if isinstance(spec, list) else []
    line_of: Callable[[Any], int | None] = getattr(spec, "line_of", lambda key: None)
    problems: list[Problem] = []
    if is_matcher(spec):
        for key, arg in spec.items():
            if _is_placeholder(arg):
                continue  # checked again at run time, once filled
            problems += [(line or line_of(key), f"{key}: {msg}" if not msg.startswith(f"'{key}'") else msg)
                         for line, msg in MATCHERS[key].check_arg(arg, spec)]
        return problems
    for key, sub in spec.items():
        if scalar and key not in MATCHER_KEYS:
            near = misspelt_matcher(key)
            hint = f" (did you mean {near!r}?)" if near else closest(key, MATCHER_KEYS)
            problems.append((line_of(key), f"unknown matcher {key!r}{hint}: the value checked here is not an object, "
                                            f"so this cannot be a field check; matchers: {', '.join(MATCHERS)}"))
            continue
        problems += [(line or line_of(key), msg) for line, msg in validate_spec(sub)]
    return problems


def misspelt_where_no_object(actual: Any, spec: Any) -> str | None:
    """At run time: a field check met a value that is not an object, and a key of it is a near miss of a
    matcher name. That is the scenario's mistake (a misspelt matcher), not the cloud's."""
    if isinstance(actual, dict) or not isinstance(spec, Mapping) or is_matcher(spec):
        return None
    for key in spec:
        near = misspelt_matcher(key)
        if near:
            return f"unknown matcher {key!r} (did you mean {near!r}?)"
    return None


def check(actual: Any, spec: Any, where: str, context: Any = None) -> list[str]:
    """Every way ``actual`` fails ``spec``, as ``where: expected ..., got ...`` lines (empty if it matches).

    ``spec`` is a plain value (equals), a matcher mapping, or a mapping of field -> spec for objects.
    ``context`` is what the ``distribution`` matcher needs about the job (its payload, the platform).
    """
    if is_matcher(spec):
        return _check_matcher(actual, spec, where, context)
    if isinstance(spec, Mapping):
        return _check_fields(actual, spec, where, context)
    return [] if _equal(actual, spec) else [f"{where}: expected {short(spec)}, got {short(actual)}"]


def _check_fields(actual: Any, spec: Mapping[str, Any], where: str, context: Any, explicit: bool = False) -> list[str]:
    """Field checks; ``explicit`` (under ``fields:``) says the keys are fields for sure, never misspelt matchers."""
    if not isinstance(actual, dict):
        typo = None if explicit else misspelt_where_no_object(actual, spec)
        if typo:
            raise MatcherTypo(f"{where}: {typo}; the value {short(actual, 60)} is not an object, so this cannot be a "
                              "field check (if it is a field, write it under 'fields:')")
        return [f"{where}: expected an object, got {short(actual)}"]
    problems: list[str] = []
    for key, sub in spec.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in actual:
            if not (is_matcher(sub) and sub.get("exists") is False):
                problems.append(f"{path}: missing (fields present: {', '.join(sorted(map(str, actual))) or 'none'})")
            continue
        problems.extend(check(actual[key], sub, path, context))
    return problems


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _check_matcher(actual: Any, spec: Mapping[str, Any], where: str, context: Any) -> list[str]:
    out: list[str] = []
    got = short(actual)
    if "exists" in spec and spec["exists"] is False:
        return [f"{where}: expected to be absent, got {got}"]
    if "equals" in spec and not _equal(actual, spec["equals"]):
        out.append(f"{where}: expected {short(spec['equals'])}, got {got}")
    if "one_of" in spec and not any(_equal(actual, c) for c in spec["one_of"]):
        out.append(f"{where}: expected one of {short(spec['one_of'])}, got {got}")
    if "regex" in spec and not (isinstance(actual, str) and re.search(spec["regex"], actual)):
        out.append(f"{where}: expected to match /{spec['regex']}/, got {got}")
    if "type" in spec:
        wanted = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if not any(TYPES[t](actual) for t in wanted):
            out.append(f"{where}: expected type {' or '.join(wanted)}, got {type(actual).__name__} {got}")
    number = actual if is_number(actual) else None
    for key, word in (("min", "at least"), ("max", "at most")):
        if key in spec and (number is None or (number < spec[key] if key == "min" else number > spec[key])):
            out.append(f"{where}: expected a number {word} {spec[key]}, got {got}")
    if "approx" in spec:
        tolerance = spec.get("tolerance", 1e-6)
        if number is None or not math.isclose(number, spec["approx"], rel_tol=tolerance, abs_tol=tolerance):
            out.append(f"{where}: expected {spec['approx']} ± {tolerance}, got {got}")
    if "contains" in spec and not _contains(actual, spec["contains"]):
        out.append(f"{where}: expected to contain {short(spec['contains'])}, got {got}")
    if "not_contains" in spec and _contains(actual, spec["not_contains"]):
        out.append(f"{where}: expected not to contain {short(spec['not_contains'])}, got {got}")
    if "length" in spec:
        size = len(actual) if isinstance(actual, (str, list, dict)) else None
        out.extend(check(size, spec["length"], f"length of {where}") if size is not None
                   else [f"{where}: expected something with a length, got {got}"])
    if "sum" in spec:
        values = list(actual.values()) if isinstance(actual, dict) else actual
        if isinstance(actual, str) and actual.startswith(wire.PREFIX):
            # Perceval's text forms: a BSCount's counts, a BSDistribution's probabilities
            with contextlib.suppress(wire.ResultsFormatError):
                values = list(wire.parse_results(actual).values.values())
        if not isinstance(values, list) or not all(is_number(v) for v in values):
            out.append(f"{where}: expected numbers to sum, got {got}")
        else:
            out.extend(check(sum(values), spec["sum"], f"sum of {where}"))
    if "samples" in spec:
        out.extend(_check_samples(actual, spec["samples"], where))
    if "differs_from" in spec and _comparable(actual) == _comparable(spec["differs_from"]):
        out.append(f"{where}: expected results other than the saved ones, got the same: {got}")
    if "json" in spec:
        try:
            parsed = json.loads(actual) if isinstance(actual, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            out.append(f"{where}: expected a JSON text, got {got}")
        else:
            out.extend(check(parsed, spec["json"], f"{where} (parsed)", context))
    if "fields" in spec:
        out.extend(_check_fields(actual, spec["fields"], where, context, explicit=True))
    if "distribution" in spec:
        module = _physics()
        if module is None:  # validated at load time; kept for a module removed since
            raise ImportError(f"the distribution matcher needs {PHYSICS_MODULE}")
        out.extend(module.check_distribution(actual, spec["distribution"], where, context))
    if "datasheet" in spec:
        out.extend(_check_estimate(actual, spec["datasheet"], where, context, DATASHEET_MODULE,
                                   f"datasheet: {_figure(spec['datasheet'])}"))
    if "acceptance" in spec:
        out.extend(_check_estimate(actual, spec["acceptance"], where, context, ACCEPTANCE_MODULE, "acceptance"))
    if out and all(getattr(p, "is_inconclusive", False) for p in out):
        # e.g. a legal post-selection that kept nothing: no verdict on the cloud either way (a red elsewhere in
        # the spec keeps the step red, the checks that could not decide said in its text)
        raise pytest.skip.Exception("; ".join(out), _use_item_location=True)
    if any(key in spec for key in ("includes", "excludes", "every")) and not isinstance(actual, list):
        return out + [f"{where}: expected a list, got {got}"]
    for item_spec in spec.get("includes", []):
        if not any(not check(item, item_spec, "") for item in actual):
            out.append(f"{where}: expected an element matching {short(item_spec)}, none of {len(actual)} does")
    for item_spec in spec.get("excludes", []):
        if any(not check(item, item_spec, "") for item in actual):
            out.append(f"{where}: expected no element matching {short(item_spec)}")
    if "every" in spec:
        for index, item in enumerate(actual):
            out.extend(check(item, spec["every"], f"{where}[{index}]", context))
    return out


def _figure(spec: Any) -> Any:
    return spec.get("figure") if isinstance(spec, Mapping) else None


def _check_estimate(actual: Any, spec: Any, where: str, context: Any, module_name: str, title: str) -> list[str]:
    """A ``datasheet`` or ``acceptance`` check; its estimate, interval and verdict are attached to the report
    (Allure) under ``title``; a problem that makes it not conclusive is returned as such (``is_inconclusive``)."""
    from pytest_cloudjob.api import records

    module = importlib.import_module(module_name)
    found, report = getattr(module, f"check_{module_name.rsplit('.', 1)[1]}")(actual, spec, where, context)
    if report:
        records.attach_text(title, f"{where}: {report}")
    return list(found)


def _check_samples(actual: Any, spec: Any, where: str) -> list[str]:
    """The number of samples in Perceval's results checked against ``spec`` (a count is no probability)."""
    try:
        histogram = wire.parse_results(actual)
    except wire.ResultsFormatError as exc:
        return [f"{where}: expected Perceval's results (a :PCVL:BSCount: or :PCVL:BSSamples: text, a mapping "
                f"state -> count or a list of states), got {short(actual)} ({exc})"]
    counts = list(histogram.values.values())
    if not histogram.is_counts or not all(float(c).is_integer() and c >= 0 for c in counts):
        return [f"{where}: expected sample counts, got probabilities {short(actual)}"]
    return check(int(sum(counts)), spec, f"samples in {where}")


def _comparable(value: Any) -> Any:
    """Results as they can be compared: a results JSON text's ``results`` field, a zipped form unpacked."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "results" in parsed:
            value = parsed["results"]
    if isinstance(value, str):
        try:
            return wire.unzip(value)
        except wire.ResultsFormatError:
            return value
    return value


def _contains(actual: Any, item: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(item, str) and item in actual
    if isinstance(actual, dict):
        return item in actual
    if isinstance(actual, list):
        return any(_equal(x, item) for x in actual)
    return False


def docs_table() -> str:
    """The docs' matcher table, from :data:`MATCHERS`."""
    rows = ["| matcher | passes when |", "|---|---|"]
    rows += [f"| `{m.example}` | {m.passes_when} |" for m in MATCHERS.values()]
    return "\n".join(rows) + "\n"
