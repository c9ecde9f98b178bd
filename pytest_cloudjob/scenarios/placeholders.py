"""Placeholders in scenario strings: ``{platform}``, ``{vars.x}``, ``{env.NAME}``, ``{job.id}``, ``{jobs.0.id}``.

The one grammar the loader checks and the runner fills: a head name, then dot-separated fields or list indexes.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pytest_cloudjob.text import closest

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


#: A missing field this close to a present one is taken for a typo of the scenario.
FIELD_TYPO = 0.75


class _MissingField(LookupError):
    """A field the path names is absent; ``typo`` when a present field is close to it (did you mean ...)."""

    def __init__(self, message: str, typo: bool) -> None:
        super().__init__(message)
        self.typo = typo


def is_typo(error: LookupError) -> bool:
    """Whether ``error`` of :func:`follow` names a missing field close to one present: the path's typo."""
    return isinstance(error, _MissingField) and error.typo


def follow(value: Any, path: list[str], written: str) -> Any:
    """The value at ``path`` inside ``value`` (a field of an object, or an index of a list)."""
    for part in path:
        if isinstance(value, list):
            if not part.isdigit() or int(part) >= len(value):
                raise LookupError(f"{written}: {part!r} is not an index of a list of {len(value)}")
            value = value[int(part)]
        elif isinstance(value, dict):
            if part not in value:
                raise _MissingField(f"{written}: no field {part!r}{closest(part, value, FIELD_TYPO)} "
                                   f"(fields: {', '.join(map(str, value)) or 'none'})", bool(closest(part, value, FIELD_TYPO)))
            value = value[part]
        else:
            raise LookupError(f"{written}: cannot take {part!r} of {type(value).__name__} {value!r}")
    return value
