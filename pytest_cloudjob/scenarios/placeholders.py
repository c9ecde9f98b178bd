"""Placeholders in scenario strings: ``{platform}``, ``{vars.x}``, ``{env.NAME}``, ``{job.id}``, ``{jobs.0.id}``.

The one grammar the loader checks and the runner fills: a head name, then dot-separated fields or list indexes.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w-]*)((?:\.[\w-]+)*)\}")
#: Heads that name something of the run rather than a saved value.
RUN_VALUES = ("platform", "slow_platform", "run_id")
NAMESPACES = ("vars", "env")


def parse(match: re.Match[str]) -> tuple[str, list[str]]:
    """``{jobs.0.id}`` -> ``("jobs", ["0", "id"])``."""
    path = match.group(2)
    return match.group(1), path[1:].split(".") if path else []


def found_in(text: str) -> Iterator[tuple[str, list[str], str]]:
    """Each placeholder of ``text`` as (head, path, as written)."""
    for match in PLACEHOLDER.finditer(text):
        head, path = parse(match)
        yield head, path, match.group(0)


def whole(text: str) -> re.Match[str] | None:
    """The match when ``text`` is a single placeholder and nothing else (it keeps the value's type)."""
    return PLACEHOLDER.fullmatch(text)


def follow(value: Any, path: list[str], written: str) -> Any:
    """The value at ``path`` inside ``value`` (a field of an object, or an index of a list)."""
    for part in path:
        if isinstance(value, list):
            if not part.isdigit() or int(part) >= len(value):
                raise LookupError(f"{written}: {part!r} is not an index of a list of {len(value)}")
            value = value[int(part)]
        elif isinstance(value, dict):
            if part not in value:
                raise LookupError(f"{written}: no field {part!r} (fields: {', '.join(map(str, value)) or 'none'})")
            value = value[part]
        else:
            raise LookupError(f"{written}: cannot take {part!r} of {type(value).__name__} {value!r}")
    return value
