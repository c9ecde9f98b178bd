"""Durations as people write them (``30s``, ``500ms``, ``2m``, or a number of seconds), parsed in one place
so scenarios and settings agree on one format."""
from __future__ import annotations

import re
from typing import Any

DURATION_PATTERN = r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$"
DURATION_WORDS = "a duration such as 30s, 500ms or 2m"
_DURATION = re.compile(DURATION_PATTERN)
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0}


def parse_duration(value: Any) -> float | None:
    """Seconds from ``30s``, ``500ms``, ``2m`` or a positive number; ``None`` if it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        return None
    seconds = float(match.group(1)) * _SCALE[match.group(2) or "s"]
    return seconds if seconds > 0 else None
