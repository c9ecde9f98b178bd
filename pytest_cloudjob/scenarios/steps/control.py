"""``include``: a steps file inlined in its place when the scenario is loaded, so it has no behaviour of
its own at run time (the loader, :mod:`pytest_cloudjob.scenarios.model`, expands it)."""
from __future__ import annotations

from pytest_cloudjob.scenarios.steps.base import INCLUDE, Arg, StepKind

KINDS = (
    StepKind("include", (Arg("file", INCLUDE, "a YAML list of steps, inlined here"),),
             "nothing: its steps run in its place", ("file",)),
)
