"""Durations as people write them (``30s``, ``500ms``, ``2m``, or a number of seconds), parsed in one place
so scenarios and settings agree on one format.

A duration is finite, positive and at most :data:`MAX_DURATION_SECONDS` (24 h): ``.inf`` would make an
``eventually:`` never end and overflows the deadline watchdog's timer, and no test job should need a day.
"""
from __future__ import annotations

import math
import re
from typing import Any

#: The longest duration any setting or scenario field may ask for (a documented bound: 24 hours).
MAX_DURATION_SECONDS = 24 * 3600.0
DURATION_PATTERN = r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$"
DURATION_WORDS = "a duration such as 30s, 500ms or 2m (at most 24 hours)"
_DURATION = re.compile(DURATION_PATTERN)
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0}


def parse_duration(value: Any) -> float | None:
    """Seconds from ``30s``, ``500ms``, ``2m`` or a positive number; ``None`` if it is not a duration
    (not positive, not finite, or longer than :data:`MAX_DURATION_SECONDS`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):  # compared before any float(): an integer of 400 digits does not fit one
        return float(value) if 0 < value <= MAX_DURATION_SECONDS else None
    if isinstance(value, float):
        seconds = value
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if not match or len(match.group(1)) > 30:  # more digits than any bounded duration needs
            return None
        seconds = float(match.group(1)) * _SCALE[match.group(2) or "s"]
    return seconds if math.isfinite(seconds) and 0 < seconds <= MAX_DURATION_SECONDS else None
