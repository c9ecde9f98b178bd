"""The step vocabulary as one table, :data:`STEPS`: each kind is one :class:`StepKind` (its arguments, load
rules and behaviour) in the module of its group, registered here.

Adding a step kind means adding it to its group's ``KINDS`` (or a new group module listed in
:data:`GROUPS`) and its row to docs/scenarios.md (``python -m pytest_cloudjob.scenarios.steps`` prints it).
"""
from __future__ import annotations

from pytest_cloudjob.scenarios.steps import admin, control, http, jobs
from pytest_cloudjob.scenarios.steps.base import (
    ACTORS,
    COMMON,
    COMMON_EXCLUSIVE,
    HTTP_METHODS,
    MAX_COUNT,
    NAME_PATTERN,
    Arg,
    ArgType,
    Handler,
    StepKind,
    StepSpec,
)

#: The group modules, in the order the docs' table lists their kinds.
GROUPS = (jobs, admin, http, control)
STEPS: dict[str, StepKind] = {kind.kind: kind for group in GROUPS for kind in group.KINDS}

__all__ = ["ACTORS", "COMMON", "COMMON_EXCLUSIVE", "GROUPS", "HTTP_METHODS", "MAX_COUNT", "NAME_PATTERN", "STEPS",
           "Arg", "ArgType", "Handler", "StepKind", "StepSpec", "docs_table"]


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
