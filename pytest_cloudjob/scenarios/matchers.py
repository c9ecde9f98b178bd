"""Matchers of ``expect:``: each checks one value and says, in one line, what it wanted and what came."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

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

MATCHER_KEYS = frozenset({"equals", "one_of", "regex", "type", "min", "max", "contains", "not_contains",
                          "length", "approx", "tolerance", "json", "sum", "exists", "includes", "excludes",
                          "every"})


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_matcher(spec: Any) -> bool:
    return isinstance(spec, dict) and bool(spec) and set(spec) <= MATCHER_KEYS


def check(actual: Any, spec: Any, where: str) -> list[str]:
    """Every way ``actual`` fails ``spec``, as ``where: expected ..., got ...`` lines (empty if it matches).

    ``spec`` is a plain value (equals), a matcher mapping, or a mapping of field -> spec for objects.
    """
    if is_matcher(spec):
        return _check_matcher(actual, spec, where)
    if isinstance(spec, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {short(actual)}"]
        problems: list[str] = []
        for key, sub in spec.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in actual:
                if not (is_matcher(sub) and sub.get("exists") is False):
                    problems.append(f"{path}: missing (fields present: {', '.join(sorted(map(str, actual))) or 'none'})")
                continue
            problems.extend(check(actual[key], sub, path))
        return problems
    return [] if _equal(actual, spec) else [f"{where}: expected {short(spec)}, got {short(actual)}"]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _check_matcher(actual: Any, spec: dict[str, Any], where: str) -> list[str]:
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
    number = actual if isinstance(actual, (int, float)) and not isinstance(actual, bool) else None
    for key, ok in (("min", lambda v, b: v >= b), ("max", lambda v, b: v <= b)):
        if key in spec and (number is None or not ok(number, spec[key])):
            word = "at least" if key == "min" else "at most"
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
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            out.append(f"{where}: expected numbers to sum, got {got}")
        else:
            out.extend(check(sum(values), spec["sum"], f"sum of {where}"))
    if "json" in spec:
        try:
            parsed = json.loads(actual) if isinstance(actual, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            out.append(f"{where}: expected a JSON text, got {got}")
        else:
            out.extend(check(parsed, spec["json"], f"{where} (parsed)"))
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
            out.extend(check(item, spec["every"], f"{where}[{index}]"))
    return out


def _contains(actual: Any, item: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(item, str) and item in actual
    if isinstance(actual, dict):
        return item in actual
    if isinstance(actual, list):
        return any(_equal(x, item) for x in actual)
    return False
