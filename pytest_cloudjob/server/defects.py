"""Promises the reference cloud can be told to break, one by one.

A QA suite is only worth running if it turns red when the cloud misbehaves; starting the reference cloud
with ``--break NAME`` lets a test prove that the shipped scenarios catch each of these defects.
"""
from __future__ import annotations

DEFECTS: dict[str, str] = {
    "open-admin": "admin endpoints answer any valid token, not only admins",
    "shared-jobs": "every account can read every job",
    "anonymous-allowed": "a request without a token is served as the regular user",
    "cancel-ended-accepted": "cancelling a job that has already ended answers 200",
    "wrong-shot-count": "results add up to one shot more than the job asked for",
    "no-progress": "status bodies lack the 'progress' field",
    "lax-create": "a create body without 'payload' is accepted",
    "rerun-refused": "rerunning a cancelled job is refused",
}

# Physics: the results of an experiment-carrying job (Perceval installed) stop following its physics.
# Caught by the ``distribution`` check at 1000-10000 shots (tests/physics/test_physics_defects.py).
PHYSICS_DEFECTS: dict[str, str] = {
    "uniform-results": "results are uniform over the output states instead of the experiment's distribution",
    "swapped-modes": "output modes are reported in reverse order",
    "distinguishable-photons": "photons are simulated fully distinguishable (no two-photon interference)",
    "postselection-ignored": "the experiment's postselection is not applied",
    "noise-ignored": "the noise model (the experiment's or the platform's perfs) is not applied",
    "results-of-another-job": "a job is answered with the results of the job simulated before it",
}


def check_defects(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The set of defects to inject, or ``ValueError`` naming the unknown one and the known ones."""
    unknown = [name for name in names if name not in DEFECTS and name not in PHYSICS_DEFECTS]
    if unknown:
        raise ValueError(f"unknown defect {unknown[0]!r}; known: {', '.join([*DEFECTS, *PHYSICS_DEFECTS])}")
    return frozenset(names)
