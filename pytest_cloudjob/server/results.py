"""Results of the reference cloud's jobs: reproducible, and physically true when Perceval is installed.

A payload that describes an experiment (Perceval's ``experiment``, ``circuit`` or ``computation``) is
simulated exactly by SLOS (``pytest_cloudjob.physics.simulate``), noise included, then sampled with the
job's own seed and answered in Perceval's text forms (``:PCVL:BSCount:{...}``). Without Perceval, or for
a payload that only names a command, results are invented counts over plausible states, as before.
The same seed and the same job give the same results, so a failing check can be replayed.
"""
from __future__ import annotations

import importlib.metadata
import json
import random
import re
from collections.abc import Callable
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

from pytest_cloudjob.physics import cache, simulate, wire
from pytest_cloudjob.server.limits import MAX_BATCH_RUNS, MAX_SAMPLES, samples_asked

_STATE = re.compile(r"\|([0-9]+(?:,[0-9]+)*)>")
MAX_STATES = 64


def photon_and_modes(input_state: Any) -> tuple[int, int]:
    """Photon count and mode count of an input state such as ``|1,0,1>`` (``:PCVL:BasicState:`` prefix allowed)."""
    match = _STATE.search(input_state) if isinstance(input_state, str) else None
    if not match:
        return 1, 2
    occupations = [int(x) for x in match.group(1).split(",")]
    return max(1, min(sum(occupations), 6)), max(1, min(len(occupations), 12))


def output_states(photons: int, modes: int, limit: int = MAX_STATES) -> list[str]:
    """Up to ``limit`` Fock states of ``photons`` photons over ``modes`` modes, as ``|n1,n2,...>``."""
    states = []
    for placement in combinations_with_replacement(range(modes), photons):
        occupation = [0] * modes
        for mode in placement:
            occupation[mode] += 1
        states.append("|" + ",".join(map(str, occupation)) + ">")
        if len(states) >= limit:
            break
    return states


def physics_status() -> dict[str, Any]:
    """What ``/health`` says about physics: simulated with Perceval, or invented results and why."""
    try:  # the installed distribution's version, without importing Perceval (1 s, 170 MB) for a health check
        version = importlib.metadata.version("perceval-quandela")
    except importlib.metadata.PackageNotFoundError:
        return {"simulated": False, "reason": f"Perceval is not installed: results are invented; {simulate.EXTRA_HINT}"}
    return {"simulated": True, "perceval": version}


def check_limits(payload: dict[str, Any], details: dict[str, Any]) -> str | None:
    """Why the platform cannot run ``payload``'s experiment (a limit named, for a 400), or ``None``."""
    return assess(payload, details)[0]


def assess(payload: dict[str, Any], details: dict[str, Any]) -> tuple[str | None, bool]:
    """Why the platform cannot run ``payload`` (a limit named, for a 400, else ``None``), and whether its
    results are simulated (by the worker) rather than invented.

    Only payloads with an experiment are checked, and only with Perceval installed (nothing to read
    the experiment with otherwise). The answer is kept in the physics cache: a create of an experiment
    assessed before imports no Perceval."""
    if not simulate.has_experiment(payload) or simulate.unavailable_reason() is not None:
        return None, False
    specs = details.get("specs") or {}
    name = cache.key("cloud-assess", [payload, details.get("name"), specs.get("available_commands"),
                                      specs.get("constraints")], code=(Path(__file__),))
    kept = cache.get(name)
    if isinstance(kept, list) and len(kept) == 2 and isinstance(kept[1], bool):
        return kept[0], kept[1]
    answer = _assess(payload, details)
    cache.put(name, list(answer))
    return answer


def _assess(payload: dict[str, Any], details: dict[str, Any]) -> tuple[str | None, bool]:
    runs, problem = simulable_runs(payload)
    if runs is None:
        return problem, False
    if len(runs) > MAX_BATCH_RUNS:
        return f"the payload asks for {len(runs)} runs; a batch may have at most {MAX_BATCH_RUNS}", True
    asked = sum(samples_asked(run.max_shots, run.max_samples) for run in runs if run.command == "samples")
    if asked > MAX_SAMPLES:
        return (f"the payload asks for {asked} samples; a samples job may ask for at most {MAX_SAMPLES}, "
                "all runs together"), True
    commands = details.get("specs", {}).get("available_commands")
    for run in runs:  # a QPU measures: it runs no probs (Perceval's client never sends what is not listed)
        if isinstance(commands, list) and run.command and run.command not in commands:
            return (f"platform {details.get('name')} does not run command {run.command!r} "
                    f"(specs.available_commands: {', '.join(map(str, commands))})"), True
    constraints = details.get("specs", {}).get("constraints", {})
    for run in runs:
        modes, photons = simulate.size_of(run.experiment)
        for what, value, key in (("modes", modes, "max_mode_count"), ("photons", photons, "max_photon_count")):
            limit = constraints.get(key)
            if isinstance(limit, int) and value > limit:
                return (f"the experiment has {value} {what}; platform {details.get('name')} allows at most {limit} "
                        f"(specs.constraints.{key})"), True
    return None, True


def simulable_runs(payload: dict[str, Any]) -> tuple[list[simulate.Run] | None, str | None]:
    """The runs to simulate, else ``None`` and what is wrong with the payload (``None`` when nothing is).

    A v1 ``experiment`` or v2 ``computation`` that Perceval cannot read, or without an input state, is an
    error. A v0 ``circuit`` that it cannot read (such as the seed client's default placeholder
    ``:PCVL:ACircuit:{}``) is no experiment: such jobs get invented results, as before Perceval."""
    if not simulate.has_experiment(payload) or simulate.unavailable_reason() is not None:
        return None, None
    legacy = "experiment" not in payload and "computation" not in payload
    try:
        runs = simulate.runs_of(payload)
    except simulate.PayloadUnzipError as exc:  # a bomb is refused whatever the payload version
        return None, str(exc)
    except simulate.PhysicsError as exc:
        return None, None if legacy else str(exc)
    if any(run.experiment.input_state is None for run in runs):
        return None, None if legacy else "the experiment has no input state (Perceval: experiment.with_input(...))"
    return runs, None


_previous: dict[str, Any] = {}  # the last simulated payload, for the results-of-another-job defect


def make_results(payload: dict[str, Any], seed: int, job_key: str, *,
                 platform_details: Callable[[], dict[str, Any]] | None = None,
                 defects: frozenset[str] = frozenset()) -> str:
    """The JSON text of a completed job's results for its command: simulated when the payload has an
    experiment and Perceval is installed, invented otherwise."""
    if simulate.has_experiment(payload) and simulate.unavailable_reason() is None:
        details = platform_details() if platform_details else {}
        perfs, threshold = details.get("perfs", {}), simulate.threshold_detectors(details)
        if plans_of(payload, perfs, threshold, defects) is not None:
            source = payload
            if "results-of-another-job" in defects:
                source = _previous.get("payload", payload)
                _previous["payload"] = payload
            plans = plans_of(source, perfs, threshold, defects)
            assert plans is not None  # the other job's payload was simulated too
            return simulated_results(payload, plans, seed, job_key, defects)
    return invented_results(payload, seed, job_key)


def needs_perceval(payload: dict[str, Any], details: dict[str, Any], defects: frozenset[str]) -> bool:
    """Whether computing this job's results imports Perceval (its plan is not cached yet): the worker then
    imports it before the job's budget starts."""
    if not simulate.has_experiment(payload) or simulate.unavailable_reason() is not None:
        return False
    if "results-of-another-job" in defects:
        return True
    name = _plan_key(payload, details.get("perfs", {}), simulate.threshold_detectors(details), defects)
    return cache.get(name) is None


def plans_of(payload: dict[str, Any], perfs: dict[str, Any], threshold: bool,
             defects: frozenset[str]) -> list[dict[str, Any]] | None:
    """What to sample for each run of the job (command, shot budget, exact distribution), or ``None`` when
    the payload is no experiment to simulate. Kept in the physics cache: the same experiment on the same
    platform is simulated once, and a cache hit needs no Perceval."""
    name = _plan_key(payload, perfs, threshold, defects)
    kept = cache.get(name)
    if isinstance(kept, dict) and isinstance(kept.get("plans"), (list, type(None))):
        return kept["plans"]  # type: ignore[no-any-return]
    runs, _ = simulable_runs(payload)
    if runs is None:
        plans = None
    else:
        if "transmittance-halved" in defects and "Transmittance (%)" in perfs:
            perfs = {**perfs, "Transmittance (%)": float(perfs["Transmittance (%)"]) / 2}
        noise = simulate.noise_of_perfs(perfs) if perfs else None
        plans = [_plan(run, noise, defects, threshold) for run in runs]
    cache.put(name, {"plans": plans})
    return plans


def _plan_key(payload: dict[str, Any], perfs: dict[str, Any], threshold: bool, defects: frozenset[str]) -> str:
    return cache.key("cloud-plan", [payload, perfs, threshold, sorted(defects)], code=(Path(__file__),))


def invented_results(payload: dict[str, Any], seed: int, job_key: str) -> str:
    """The JSON text of invented results for the command (no experiment to simulate).

    ``sample_count``: counts summing to ``max_shots``; ``probs``: probabilities summing to 1;
    ``samples``: ``max_shots`` sampled states.
    """
    rng = random.Random(f"{seed}:{job_key}")
    photons, modes = photon_and_modes(payload.get("input_state"))
    states = output_states(photons, modes)
    weights = [rng.random() + 0.05 for _ in states]
    max_shots = payload.get("max_shots")
    shots = max_shots if isinstance(max_shots, int) else 1000
    command = payload.get("command")
    if command == "probs":
        total = sum(weights)
        results: Any = {s: w / total for s, w in zip(states, weights)}
    elif command == "samples":
        results = rng.choices(states, weights=weights, k=min(shots, MAX_SAMPLES))
    else:
        results = {s: c for s, c in zip(states, _split(shots, weights, rng)) if c}
    return json.dumps({"results": results, "command": command, "max_shots": shots,
                       "physical_perf": 1.0, "logical_perf": 1.0})


def _split(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """``total`` shots shared in proportion to ``weights``, rounded at random so they sum exactly."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    short = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - counts[i]) + rng.random() * 0.5, reverse=True)
    for i in order[:short]:
        counts[i] += 1
    return counts


def simulated_results(payload: dict[str, Any], plans: list[dict[str, Any]], seed: int, job_key: str,
                      defects: frozenset[str] = frozenset()) -> str:
    """Every run of the job sampled from its plan with the job's seed, in Perceval's forms."""
    import numpy

    rng = numpy.random.default_rng(simulate.job_rng_seed(seed, job_key))
    answers = [_answer(plan, rng) for plan in plans]
    body: dict[str, Any] = dict(answers[0]) if len(answers) == 1 else {
        "results_list": [{**a, "iteration": plan["iteration"]} for a, plan in zip(answers, plans)]}
    if payload.get("job_context") is not None:
        body["job_context"] = payload["job_context"]
    return json.dumps(body)


def _plan(run: simulate.Run, noise: Any, defects: frozenset[str], threshold: bool) -> dict[str, Any]:
    """One run's exact distribution as the (possibly broken) platform produces it, with its shot budget."""
    experiment = run.experiment
    if "postselection-ignored" in defects:
        experiment = experiment.copy()
        experiment.clear_postselection()
    if "distinguishable-photons" in defects:
        import perceval as pcvl

        experiment = experiment.copy()
        experiment.noise = pcvl.NoiseModel(indistinguishability=0.0)
    exact = simulate.exact(experiment, noise=noise, use_noise="noise-ignored" not in defects, threshold=threshold,
                           bound_unlisted=False)
    probs = exact.probs
    if "vacuum-reported" in defects and exact.vacuum > 0 and (experiment.min_photons_filter or 0) < 1:
        probs = _with_vacuum(probs, exact.perf, exact.vacuum, experiment.m - len(experiment.heralds))
        exact = simulate.Exact(probs, min(1.0, exact.perf + exact.vacuum), 0.0, 0.0)
    if "uniform-results" in defects:
        probs = _uniform_like(probs)
    if "swapped-modes" in defects:
        probs = {_reversed_modes(s): p for s, p in probs.items()}
    return {"command": run.command, "max_shots": run.max_shots, "max_samples": run.max_samples,
            "iteration": run.iteration, "probs": probs, "perf": exact.perf, "vacuum": exact.vacuum}


def _answer(plan: dict[str, Any], rng: Any) -> dict[str, Any]:
    probs: dict[str, float] = plan["probs"]
    states, weights = list(probs), [probs[s] for s in probs]
    total = sum(weights)
    weights = [w / total for w in weights]
    perfs = {"physical_perf": plan["perf"], "logical_perf": 1.0}
    if plan["command"] == "probs":
        return {"results": wire.bsdistribution(dict(zip(states, weights))), **perfs}
    kept = samples_kept(plan, rng)
    if plan["command"] == "samples":
        kept = min(kept, MAX_SAMPLES)
        picks = rng.choice(len(states), size=kept, p=weights) if states else []
        return {"results": wire.bssamples([states[int(i)] for i in picks]), **perfs}
    counts = rng.multinomial(kept, weights) if states else []
    return {"results": wire.bscount({s: int(c) for s, c in zip(states, counts) if c}), **perfs}


def samples_kept(plan: dict[str, Any], rng: Any) -> int:
    """How many of the run's shots are samples, as Perceval defines them: a shot is an event with at least
    one photon detected, a sample a shot that passes the experiment's filters (photon count, heralds,
    post-selection); never more than ``max_samples``. A 1-photon job whose filter is 1 keeps every shot."""
    shots = plan["max_shots"] if plan["max_shots"] is not None else (plan["max_samples"] or 1000)
    keep = simulate.keep_probability(simulate.Exact({}, plan["perf"], 0.0, plan["vacuum"]))
    kept = int(rng.binomial(shots, keep)) if keep < 1 else shots
    return kept if plan["max_samples"] is None else min(kept, plan["max_samples"])


def _with_vacuum(probs: dict[str, float], perf: float, vacuum: float, modes: int) -> dict[str, float]:
    """The distribution with the events that have no photon counted as samples (defect)."""
    total = perf + vacuum
    out = {s: p * perf / total for s, p in probs.items()}
    out["|" + ",".join(["0"] * modes) + ">"] = vacuum / total
    return out


def _occupations(state: str) -> list[int]:
    match = _STATE.search(state)
    return [int(x) for x in match.group(1).split(",")] if match else []


def _uniform_like(probs: dict[str, float]) -> dict[str, float]:
    """Uniform over every state with the photon number and modes of the likeliest outcome (defect)."""
    likeliest = _occupations(max(probs, key=lambda s: probs[s])) if probs else []
    states = output_states(sum(likeliest), len(likeliest), limit=10_000) if likeliest else list(probs)
    return {s: 1.0 / len(states) for s in states}


def _reversed_modes(state: str) -> str:
    occupations = _occupations(state)
    return "|" + ",".join(map(str, reversed(occupations))) + ">" if occupations else state
