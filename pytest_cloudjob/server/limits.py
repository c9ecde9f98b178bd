"""The reference cloud's bounds on the physics work of one job (docs/reference-cloud.md, "Limits").

A create beyond a limit is a 400 naming it (docs/protocol.md lets a cloud refuse what a platform cannot
honour); a simulation beyond its time budget ends the job in ``error`` with ``failure_code``
:data:`BUDGET_EXCEEDED`. The physics fields of a create are checked here, before anything is stored, so a
stored job can never make a later read fail.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pytest_cloudjob.server.platforms import MAX_MODES, MAX_PHOTONS

MAX_BATCH_RUNS = 100  # runs of one batch (``iterator``): 100 noisy 12x6 runs take ~20 s of SLOS
MAX_SAMPLES = 100_000  # samples of one ``samples`` job, all runs together (~0.6 MB of results)
SIMULATION_BUDGET = 30.0  # seconds of simulation per job (``--simulation-budget``); queueing not counted
WORKER_STARTUP_TIMEOUT = 60.0  # seconds the simulation worker may take to import Perceval
MAX_RESULTS_BYTES = 16 << 20  # a results text the worker answers (the caps above keep them far below)
DEFAULT_SHOTS = 1000  # what a run without max_shots nor max_samples samples (server/results.py)

BUDGET_EXCEEDED = "SIMULATION_BUDGET_EXCEEDED"
SIMULATION_FAILED = "SIMULATION_FAILED"

ITERATION_STRINGS = ("input_state", "postselect", "noise")
PAYLOAD_STRINGS = ("experiment", "circuit", "input_state", "postselect")


def physics_problem(payload: Mapping[str, Any]) -> str | None:
    """What is wrong with the physics fields of a create's ``payload`` (a message naming the field), or
    ``None``. Checked without Perceval: types and ranges, batch size, samples asked."""
    for key in PAYLOAD_STRINGS:
        if payload.get(key) is not None and not isinstance(payload[key], str):
            return f"'payload.{key}' must be a serialized Perceval value (a string), got {type(payload[key]).__name__}"
    for key in ("noise", "computation"):
        if payload.get(key) is not None and not isinstance(payload[key], (str, dict)):
            return f"'payload.{key}' must be a serialized Perceval value, got {type(payload[key]).__name__}"
    problem = _heralds_problem(payload.get("heralds"))
    parameters = payload.get("parameters")
    if problem is None and isinstance(parameters, Mapping):
        problem = _photons_problem(parameters.get("min_detected_photons"), "payload.parameters.min_detected_photons")
    return problem or _iterator_problem(payload.get("iterator")) or samples_problem(payload)


def samples_problem(payload: Mapping[str, Any]) -> str | None:
    """Too many samples asked by a ``samples`` job (its results body grows with each one)."""
    if payload.get("command") != "samples":
        return None
    iterations = payload.get("iterator") or [{}]
    asked = sum(samples_asked(it.get("max_shots", payload.get("max_shots")),
                              it.get("max_samples", payload.get("max_samples"))) for it in iterations)
    if asked > MAX_SAMPLES:
        return (f"'payload.max_shots': a samples job may ask for at most {MAX_SAMPLES} samples, all runs "
                f"together; this one asks for {asked} (use sample_count for more shots)")
    return None


def samples_asked(max_shots: Any, max_samples: Any) -> int:
    """The samples a run answers at most: the smaller of its ``max_shots`` and ``max_samples``."""
    given = [v for v in (max_shots, max_samples) if isinstance(v, int) and not isinstance(v, bool)]
    return min(given) if given else DEFAULT_SHOTS


def _heralds_problem(heralds: Any) -> str | None:
    if heralds is None:
        return None
    if not isinstance(heralds, Mapping):
        return f"'payload.heralds' must be an object mode -> photons, got {type(heralds).__name__}"
    for mode, photons in heralds.items():
        if not str(mode).isdigit() or int(str(mode)) >= MAX_MODES:
            return f"'payload.heralds': mode {str(mode)[:20]!r} is not a mode index from 0 to {MAX_MODES - 1}"
        problem = _photons_problem(photons, f"payload.heralds.{mode}")
        if problem:
            return problem
    return None


def _photons_problem(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PHOTONS:
        return f"'{where}' must be a photon count, an integer from 0 to {MAX_PHOTONS}, got {str(value)[:40]}"
    return None


def _iterator_problem(iterator: Any) -> str | None:
    if iterator is None:
        return None
    if not isinstance(iterator, list) or not all(isinstance(it, Mapping) for it in iterator):
        return "'payload.iterator' must be a list of objects (one set of changes per run)"
    if len(iterator) > MAX_BATCH_RUNS:
        return f"'payload.iterator' has {len(iterator)} runs; a batch may have at most {MAX_BATCH_RUNS}"
    for index, iteration in enumerate(iterator):
        where = f"payload.iterator[{index}]"
        for key in ITERATION_STRINGS:
            if iteration.get(key) is not None and not isinstance(iteration[key], str):
                return f"'{where}.{key}' must be a serialized Perceval value (a string)"
        problem = _photons_problem(iteration.get("min_detected_photons"), f"{where}.min_detected_photons")
        for key in ("max_shots", "max_samples"):
            value = iteration.get(key)
            if problem is None and value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                                          or not 0 <= value <= 10**9):
                problem = f"'{where}.{key}' must be an integer from 0 to {10**9}"
        params = iteration.get("circuit_params")
        if problem is None and params is not None:
            problem = _circuit_params_problem(params, f"{where}.circuit_params")
        if problem:
            return problem
    return None


def _circuit_params_problem(params: Any, where: str) -> str | None:
    if not isinstance(params, Mapping):
        return f"'{where}' must be an object parameter name -> number"
    for name, value in params.items():
        finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if value is not None and (not finite or abs(value) > 1e6):
            return f"'{where}.{name}' must be a number (an angle), got {str(value)[:40]}"
    return None
