"""Text helpers every layer shares, for one-line errors: the "did you mean" of a misspelt name."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def nearest(name: Any, choices: Iterable[Any], cutoff: float = 0.6) -> str | None:
    """The choice nearest to ``name`` (difflib's ratio at least ``cutoff``), or ``None``."""
    match = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=cutoff)
    return match[0] if match else None


def closest(name: Any, choices: Iterable[Any], cutoff: float = 0.5) -> str:
    """`` (did you mean 'x'?)`` for the choice nearest to ``name``, or nothing: ready to end a message."""
    match = nearest(name, choices, cutoff)
    return f" (did you mean {match!r}?)" if match else ""
