"""Results of the reference cloud's jobs: reproducible, and physically true when Perceval is installed.

A payload that describes an experiment (Perceval's ``experiment``, ``circuit`` or ``computation``) is
simulated exactly by SLOS (``pytest_cloudjob.physics.simulate``), noise included, then sampled with the
job's own seed and answered in Perceval's text forms (``:PCVL:BSCount:{...}``). Without Perceval, or for
a payload that only names a command, results are invented counts over plausible states, as before.
The same seed and the same job give the same results, so a failing check can be replayed.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

from pytest_cloudjob.physics import cache, simulate, wire
from pytest_cloudjob.server.defects import PERF_REPORTED_FACTOR, drifted_perfs
from pytest_cloudjob.server.limits import MAX_BATCH_RUNS, MAX_SAMPLES, samples_asked
from pytest_cloudjob.server.platforms import COMMANDS

_STATE = re.compile(r"\|([0-9]+(?:,[0-9]+)*)>")
MAX_STATES = 64

#: The seed client's default experiment (``Job.DEFAULT_PAYLOAD["experiment"]``), as Perceval 1.3.1's
#: ``serialize`` writes it: a 50:50 beam splitter (``pcvl.BS()``), input ``|1,0>``, ``min_detected_photons`` 1.
DEFAULT_EXPERIMENT = (
    ":PCVL:zip:eJxVyk0LgjAcgPEP5GUmRew2/86ayXSlm/NWMVz5wkgh+/Z1Kem5PfDDOcgU09mZx603w4TB6k1JuSoiB7riTvsc6erYZcNzTiPi0cbFZh"
    "92176barVGzNKvF5eAo3Ilx1pxlLUETvdRkJ4FtGmTHfhU5qP1iu0ZREt+AUtALHv42OXI68/GJHwD1FA2jQ==")
# A platform's noise as the table below keys it: its perfs (Perceval's PERF_KEYS, in percent) and whether
# its detectors are threshold ones. A figure not given is no noise (Perceval's perf_dict_to_noise), as the ideal one.
NoiseKey = tuple[float, float, float, bool]
_IDEAL: NoiseKey = (100.0, 100.0, 0.0, False)
#: Experiments the reference cloud knows by heart: their exact distribution (SLOS at simulate.PRECISION) on
#: each platform's noise, so a job with the default payload (every non-physics scenario creates some) costs
#: the cloud no Perceval import, no worker and no simulation: it is sampled on the event loop in
#: microseconds. tests/server/test_known_experiments.py proves each row equals what Perceval computes; a
#: platform whose noise has no row here is simulated as any other experiment.
KNOWN_EXACT: dict[str, dict[NoiseKey, simulate.Exact]] = {
    DEFAULT_EXPERIMENT: {
        _IDEAL: simulate.Exact({"|1,0>": 0.5000000000000001, "|0,1>": 0.4999999999999999}, 1.0),
        # qpu:qa (50 % transmittance, HOM 92 %, g2 2 %, threshold detectors): |1,1> is multi-photon emission
        (50.0, 92.0, 2.0, True): simulate.Exact(
            {"|1,1>": 0.002538334051425369, "|1,0>": 0.4987308329742874, "|0,1>": 0.49873083297428716},
            0.5025512860841099, 0.0, 0.4974487139158902),
    },
}


def noise_key(details: Mapping[str, Any]) -> NoiseKey | None:
    """The key of a platform's noise in :data:`KNOWN_EXACT` (``None``: perfs it cannot key)."""
    perfs = details.get("perfs") or {}
    threshold = simulate.threshold_detectors(details)
    try:
        transmittance, hom, g2 = (float(perfs.get(key, ideal)) for key, ideal in zip(simulate.PERF_KEYS, _IDEAL))
        efficiencies = simulate.detector_efficiencies(perfs)
    except (AttributeError, TypeError, ValueError, simulate.PhysicsError):
        return None
    if efficiencies is not None and min(efficiencies) < 1:  # unequal detectors: no row, simulated
        return None
    return transmittance, hom, g2, threshold


def known_exact(payload: Mapping[str, Any], details: Mapping[str, Any]) -> simulate.Exact | None:
    """The precomputed exact distribution of ``payload``'s one experiment on a platform, or ``None`` (then
    it is read and simulated as any other): a v1 payload whose ``experiment`` is a known text, no batch."""
    if "computation" in payload or payload.get("iterator"):
        return None
    table = KNOWN_EXACT.get(payload.get("experiment"))  # type: ignore[arg-type]
    key = noise_key(details) if table is not None else None
    return table.get(key) if table is not None and key is not None else None


def _known_problem(payload: Mapping[str, Any], details: Mapping[str, Any]) -> str | None:
    """What ``assess`` says of a known experiment, without reading it (2 modes, 1 photon: within every limit).
    A command no platform runs is left to end the job in error, as for a payload without an experiment."""
    command = payload.get("command")
    commands = details.get("specs", {}).get("available_commands")
    if command in COMMANDS and isinstance(commands, list) and command not in commands:
        return (f"platform {details.get('name')} does not run command {command!r} "
                f"(specs.available_commands: {', '.join(map(str, commands))})")
    shots, samples = _int_or_none(payload.get("max_shots")), _int_or_none(payload.get("max_samples"))
    if command == "samples" and samples_asked(shots, samples) > MAX_SAMPLES:
        return (f"the payload asks for {samples_asked(shots, samples)} samples; a samples job may ask for at most "
                f"{MAX_SAMPLES}, all runs together")
    return None


def payload_key(payload: Mapping[str, Any]) -> str:
    """A key that is the same for identical payloads (the ``reused-seed`` defect seeds jobs with it)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


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
    the experiment with otherwise). A known experiment (:data:`KNOWN_EXACT`) is neither read nor simulated:
    its results are sampled from its precomputed distribution (``unsimulated_results``). The answer is kept
    in the physics cache: a create of an experiment assessed before imports no Perceval."""
    if known_exact(payload, details) is not None:
        return _known_problem(payload, details), False
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
    experiment and Perceval is installed, sampled from a precomputed distribution for a known experiment,
    invented otherwise."""
    if "reused-seed" in defects:
        job_key = payload_key(payload)
    details = platform_details() if platform_details else {}
    known = known_exact(payload, details)
    if known is not None:
        return known_results(payload, known, seed, job_key, defects)
    if simulate.has_experiment(payload) and simulate.unavailable_reason() is None:
        perfs, threshold = details.get("perfs", {}), simulate.threshold_detectors(details)
        plans = plans_of(payload, perfs, threshold, defects)
        if plans is not None:
            if "results-of-another-job" in defects:  # the plans of the job simulated before this one
                previous = _previous.get("payload", payload)
                _previous["payload"] = payload
                plans = plans_of(previous, perfs, threshold, defects) or plans
            return simulated_results(payload, plans, seed, job_key, defects)
    return invented_results(payload, seed, job_key, defects)


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
        return _loaded(kept["plans"])
    runs, _ = simulable_runs(payload)
    if runs is None:
        plans = None
    else:
        perfs = drifted_perfs(perfs, defects)  # the device's own figures under a drift defect
        noise = simulate.noise_of_perfs(perfs) if perfs else None
        efficiencies = simulate.detector_efficiencies(perfs)
        plans = [_plan(run, noise, defects, threshold, efficiencies) for run in runs]
    cache.put(name, {"plans": _stored(plans)})
    return plans


def _stored(plans: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Plans as JSON keeps them: a table of probabilities as its arrays' bytes (read back bit for bit)."""
    from pytest_cloudjob.physics.table import Table

    return None if plans is None else [
        {**plan, "probs": {"table": plan["probs"].to_json()}} if isinstance(plan["probs"], Table) else plan
        for plan in plans]


def _loaded(plans: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """:func:`_stored`'s plans as they were (a table read back as one); a malformed table is a dict as JSON has it."""
    if plans is None or not any(isinstance(p, dict) and isinstance(p.get("probs"), dict) and "table" in p["probs"]
                                for p in plans):
        return plans
    from pytest_cloudjob.physics import table

    out = []
    for plan in plans:
        probs = plan.get("probs") if isinstance(plan, dict) else None
        tabled = table.from_json(probs["table"]) if isinstance(probs, dict) and "table" in probs else None
        out.append({**plan, "probs": tabled} if tabled is not None else plan)
    return out


def _plan_key(payload: dict[str, Any], perfs: dict[str, Any], threshold: bool, defects: frozenset[str]) -> str:
    return cache.key("cloud-plan", [payload, perfs, threshold, sorted(defects)],
                     code=(Path(__file__), Path(__file__).with_name("defects.py")))  # defects.py: the drifts


def unsimulated_results(payload: dict[str, Any], seed: int, job_key: str, details: Mapping[str, Any],
                        defects: frozenset[str] = frozenset()) -> str:
    """The results of a job the worker does not simulate (``assess`` said so): a known experiment's, sampled
    from its precomputed distribution, or invented ones. Milliseconds, no Perceval: on the event loop."""
    if "reused-seed" in defects:
        job_key = payload_key(payload)
    known = known_exact(payload, details)
    if known is not None:
        return known_results(payload, known, seed, job_key, defects)
    return invented_results(payload, seed, job_key, defects)


def _sample_budget(payload: Mapping[str, Any], defects: frozenset[str]) -> tuple[int, int | None]:
    """The shots a job takes (``max_shots``, else ``max_samples``, else 1000) and its ``max_samples``; with the
    ``samples-above-shots`` defect a ``max_samples`` above the shots is taken as the number of samples."""
    shots, samples = _int_or_none(payload.get("max_shots")), _int_or_none(payload.get("max_samples"))
    taken = shots if shots is not None else (samples or 1000)
    if "samples-above-shots" in defects and samples is not None and samples > taken:
        return samples, None
    return taken, samples


def known_results(payload: Mapping[str, Any], exact: simulate.Exact, seed: int, job_key: str,
                  defects: frozenset[str] = frozenset()) -> str:
    """A known experiment's results for its command, sampled from its precomputed distribution with the job's
    own seed, in Perceval's forms; shots and samples as Perceval counts them (``samples_kept``)."""
    rng = random.Random(f"{seed}:{job_key}")
    states = list(exact.probs)
    total = sum(exact.probs.values())
    weights = [exact.probs[s] / total for s in states]
    command = payload.get("command")
    body: dict[str, Any]
    if command == "probs":
        body = {"results": wire.bsdistribution(dict(zip(states, weights)))}
    else:
        shots, max_samples = _sample_budget(payload, defects)
        keep = simulate.keep_probability(exact)
        kept = shots if keep >= 1 else sum(1 for _ in range(shots) if rng.random() < keep)
        kept = kept if max_samples is None else min(kept, max_samples)
        if command == "samples":
            body = {"results": wire.bssamples(rng.choices(states, weights, k=min(kept, MAX_SAMPLES)))}
        else:
            counts = Counter(rng.choices(states, weights, k=kept))
            body = {"results": wire.bscount({s: counts[s] for s in states if counts[s]})}
    body.update(reported_perfs(exact.perf, defects))
    _echo_job_context(body, payload)
    return json.dumps(body)


def invented_results(payload: dict[str, Any], seed: int, job_key: str, defects: frozenset[str] = frozenset()) -> str:
    """The JSON text of invented results for the command (no experiment to simulate).

    ``sample_count``: counts summing to ``max_shots`` (at most ``max_samples``); ``probs``: probabilities
    summing to 1; ``samples``: as many sampled states.
    """
    rng = random.Random(f"{seed}:{job_key}")
    photons, modes = photon_and_modes(payload.get("input_state"))
    states = output_states(photons, modes)
    weights = [rng.random() + 0.05 for _ in states]
    max_shots = payload.get("max_shots")
    taken, max_samples = _sample_budget(payload, defects)
    shots = taken if max_samples is None else min(taken, max_samples)
    max_shots = max_shots if isinstance(max_shots, int) else taken
    command = payload.get("command")
    if command == "probs":
        total = sum(weights)
        results: Any = {s: w / total for s, w in zip(states, weights)}
    elif command == "samples":
        results = rng.choices(states, weights=weights, k=min(shots, MAX_SAMPLES))
    else:
        results = {s: c for s, c in zip(states, _split(shots, weights, rng)) if c}
    body = {"results": results, "command": command, "max_shots": max_shots, "physical_perf": 1.0, "logical_perf": 1.0}
    _echo_job_context(body, payload)
    return json.dumps(body)


def _echo_job_context(body: dict[str, Any], payload: Mapping[str, Any]) -> None:
    """Every results text holds the payload's ``job_context`` when it sent one (docs/protocol.md [P-results-3]):
    Perceval's client applies its ``result_mapping`` from it."""
    if payload.get("job_context") is not None:
        body["job_context"] = payload["job_context"]


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
    answers = [_answer(plan, rng, defects) for plan in plans]
    body: dict[str, Any] = dict(answers[0]) if len(answers) == 1 else {
        "results_list": [{**a, "iteration": plan["iteration"]} for a, plan in zip(answers, plans)]}
    _echo_job_context(body, payload)
    return json.dumps(body)


def _plan(run: simulate.Run, noise: Any, defects: frozenset[str], threshold: bool,
          efficiencies: tuple[float, ...] | None = None) -> dict[str, Any]:
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
                           bound_unlisted=False, efficiencies=efficiencies)
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


def _answer(plan: dict[str, Any], rng: Any, defects: frozenset[str]) -> dict[str, Any]:
    """One run's answer sampled from its plan: numpy arrays throughout (a 12 x 6 plan has 12,376 states),
    each weight the same double as ``p / sum(probs)`` in Python, so a seed draws what it always drew."""
    import numpy

    from pytest_cloudjob.physics.table import Table

    probs: Mapping[str, float] = plan["probs"]
    if isinstance(probs, Table):  # its arrays: only the states sampled become str
        numbers = probs.numbers
        weights = numbers / sum(numbers.tolist())
        states: Any = _Texts(probs)
    else:
        states = list(probs)
        weights = numpy.fromiter(probs.values(), dtype=float, count=len(states)) / sum(probs.values())
    perfs = reported_perfs(plan["perf"], defects)
    if plan["command"] == "probs":
        return {"results": wire.bsdistribution(dict(zip(states, weights.tolist()))), **perfs}
    kept = samples_kept(plan, rng, defects)
    if plan["command"] == "samples":
        kept = min(kept, MAX_SAMPLES)
        picks = rng.choice(len(states), size=kept, p=weights).tolist() if states else []
        return {"results": wire.bssamples([states[i] for i in picks]), **perfs}
    counts = rng.multinomial(kept, weights) if states else numpy.zeros(0, dtype=int)
    seen = numpy.flatnonzero(counts).tolist()
    return {"results": wire.bscount(dict(zip([states[i] for i in seen], counts[seen].tolist()))), **perfs}


class _Texts:
    """A table's states by position, each made ``str`` when asked (``list(probs)``'s, without the list)."""

    def __init__(self, tabled: Any) -> None:
        self.tabled = tabled

    def __getitem__(self, i: int) -> str:
        return self.tabled.states[i].decode("ascii")  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.tabled)

    def __iter__(self) -> Any:
        return iter(self.tabled.texts())


def reported_perfs(perf: float, defects: frozenset[str] = frozenset()) -> dict[str, float]:
    """The perfs a run's results report: ``physical_perf`` the probability an event passes every filter (the
    vacuum included: Perceval's global_perf), ``logical_perf`` 1; 20 % low under ``physical-perf-wrong``."""
    factor = PERF_REPORTED_FACTOR if "physical-perf-wrong" in defects else 1.0
    return {"physical_perf": perf * factor, "logical_perf": 1.0}


def samples_kept(plan: dict[str, Any], rng: Any, defects: frozenset[str] = frozenset()) -> int:
    """How many of the run's shots are samples, as Perceval defines them: a shot is an event with at least
    one photon detected, a sample a shot that passes the experiment's filters (photon count, heralds,
    post-selection); never more than ``max_samples``. A 1-photon job whose filter is 1 keeps every shot."""
    shots = plan["max_shots"] if plan["max_shots"] is not None else (plan["max_samples"] or 1000)
    if "samples-above-shots" in defects and plan["max_samples"] is not None and plan["max_samples"] > shots:
        return int(plan["max_samples"])
    keep = simulate.keep_probability(simulate.Exact({}, plan["perf"], 0.0, plan["vacuum"]))
    kept = int(rng.binomial(shots, keep)) if keep < 1 else shots
    return kept if plan["max_samples"] is None else min(kept, plan["max_samples"])


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _with_vacuum(probs: Mapping[str, float], perf: float, vacuum: float, modes: int) -> dict[str, float]:
    """The distribution with the events that have no photon counted as samples (defect)."""
    total = perf + vacuum
    out = {s: p * perf / total for s, p in probs.items()}
    out["|" + ",".join(["0"] * modes) + ">"] = vacuum / total
    return out


def _occupations(state: str) -> list[int]:
    match = _STATE.search(state)
    return [int(x) for x in match.group(1).split(",")] if match else []


def _uniform_like(probs: Mapping[str, float]) -> dict[str, float]:
    """Uniform over every state with the photon number and modes of the likeliest outcome (defect)."""
    likeliest = _occupations(max(probs, key=lambda s: probs[s])) if probs else []
    states = output_states(sum(likeliest), len(likeliest), limit=10_000) if likeliest else list(probs)
    return {s: 1.0 / len(states) for s in states}


def _reversed_modes(state: str) -> str:
    occupations = _occupations(state)
    return "|" + ",".join(map(str, reversed(occupations))) + ">" if occupations else state
