"""The exact output distribution of a submitted job, computed by Perceval (SLOS) from the job's payload.

Shared by the reference cloud (to answer physically true results) and the ``distribution`` check (to
compute the ``ideal`` and ``noisy`` references from the job a cloud received). Perceval is an optional
extra: it is imported on first use only, and :func:`unavailable_reason` says whether it can be.

Payload versions (Perceval's own names, ``perceval/runtime/payload_updater.py``): v0 (Perceval <= 0.12)
sends ``circuit``, ``input_state``, ``heralds``, ``postselect``, ``noise`` and
``parameters.min_detected_photons``; v1 (0.13-1.2) one serialized ``experiment``; v2 (1.3) a
``computation`` archive. Batches add ``iterator``: one set of changes per run.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import wire

# Every zipped value of one payload together unpacks to at most this: Perceval's own ``deserialize`` inflates
# with a plain ``zlib.decompress`` (a 972 kB create once took the reference cloud to 2.9 GB), so zipped values
# are unpacked here, with a cap, before Perceval sees them. A 12-mode experiment takes a few kB.
MAX_PAYLOAD_UNZIPPED_BYTES = 2 << 20
PERF_KEYS = ("Transmittance (%)", "HOM (%)", "g2 (%)")
#: Perceval's per-detector form (``perceval/utils/constants.py``): ``perfs[PER_MODE_KEY][OUT_KEY]`` lists one
#: transmission per output mode; its client sets detector k's efficiency to ``t_out[k] / max(t_out)``
#: (``perceval/components/detector.py``, ``update_detectors_from_perfs``): relative, the overall loss being
#: ``Transmittance (%)``.
PER_MODE_KEY = "Transmission per mode (%)"
OUT_KEY = "t_out"
EXTRA_HINT = "install the physics extra: pip install 'pytest-cloudjob[physics]'"


class PhysicsError(CloudJobError):
    """A payload that does not describe an experiment this module can simulate, or Perceval missing."""


class PayloadUnzipError(PhysicsError):
    """A zipped value of the payload that does not unpack, or unpacks beyond the limit: refused, whatever
    the payload version (never handed to Perceval, whose inflate has no cap)."""


def unzipped_payload(payload: Mapping[str, Any], limit: int = MAX_PAYLOAD_UNZIPPED_BYTES) -> dict[str, Any]:
    """``payload`` with every ``:PCVL:zip:`` and ``pcvlar:zip:`` string (at any depth, zipped twice or
    more included) unpacked, all of them together within ``limit`` bytes, else :class:`PayloadUnzipError`."""
    budget = [limit]

    def unpacked(text: str, where: str) -> str:
        while True:
            if text.startswith(wire.ZIP):
                prefix, packed = "", text[len(wire.ZIP):]
            elif text.startswith(wire.ARCHIVE_ZIP):
                prefix, packed = "pcvlar", text[len(wire.ARCHIVE_ZIP):]
            else:
                return text
            try:
                text = prefix + wire.inflate(packed, budget[0], f"{text[:text.index(':zip:') + 5]} value")
            except wire.UnzipError as exc:
                if exc.too_large:
                    raise PayloadUnzipError(f"'{where}': the zipped values of the payload unpack to more than {limit} "
                                            "bytes (the most the cloud unpacks of one payload)") from None
                raise PayloadUnzipError(f"'{where}': {exc}") from None
            budget[0] -= len(text.encode("utf-8"))

    def walk(value: Any, where: str, depth: int) -> Any:
        if depth > 100:
            raise PayloadUnzipError(f"'{where}': nested too deep to read")
        if isinstance(value, str):
            return unpacked(value, where)
        if isinstance(value, Mapping):
            return {k: walk(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        return value

    return {k: walk(v, f"payload.{k}", 1) for k, v in payload.items()}


def unavailable_reason() -> str | None:
    """Why Perceval cannot be used here (``None`` when it is installed), without importing it: collecting
    a physics scenario, or a cloud's health check, must not cost the 3.5 s of CPU an import does."""
    if "perceval" in sys.modules and sys.modules["perceval"] is not None:
        return None
    try:
        found = importlib.util.find_spec("perceval") is not None
    except (ImportError, ValueError) as exc:
        return f"Perceval is not installed ({exc}); {EXTRA_HINT}"
    return None if found else f"Perceval is not installed (no module named 'perceval'); {EXTRA_HINT}"


def has_experiment(payload: Mapping[str, Any]) -> bool:
    """Whether the payload describes an experiment (any version) rather than only a command."""
    return any(key in payload for key in ("experiment", "circuit", "computation"))


@dataclass
class Run:
    """One simulation a job asks for: an experiment and its shot budget (a batch has several)."""

    experiment: Any  # perceval.Experiment
    command: str
    max_shots: int | None
    max_samples: int | None
    iteration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Exact:
    """An experiment's exact output distribution over the states that pass its filters, the probability a
    shot passes them (``perf``), and ``unlisted``: a bound on the probability mass Perceval's truncation
    left out of ``probs`` (outcomes that can happen but are not listed; 0 for a perfect source)."""

    probs: Mapping[str, float]  # a table.Table when computed here: only the states a cloud saw become str
    perf: float
    unlisted: float = 0.0
    vacuum: float = 0.0  # the probability that no photon at all reaches the detectors


def runs_of(payload: Mapping[str, Any]) -> list[Run]:
    """The simulations ``payload`` asks for, from any payload version, batches expanded.

    Zipped values are unpacked first, within :data:`MAX_PAYLOAD_UNZIPPED_BYTES`; whatever Perceval raises on
    a bad value is a :class:`PhysicsError`, one line. A bomb is refused before Perceval is imported."""
    payload = unzipped_payload(payload)
    _require_perceval()
    from perceval.serialization import deserialize

    try:
        if "computation" in payload:
            noise = deserialize(payload["noise"]) if payload.get("noise") else None
            return _runs_of_computation(deserialize(payload["computation"]), noise)
        experiment = _experiment_v1(payload) if "experiment" in payload else _experiment_v0(payload)
        command = str(payload.get("command", ""))
        shots, samples = _int_or_none(payload.get("max_shots")), _int_or_none(payload.get("max_samples"))
        iterations = payload.get("iterator")
        if not iterations:
            return [Run(experiment, command, shots, samples)]
        if not isinstance(iterations, list) or not all(isinstance(it, Mapping) for it in iterations):
            raise PhysicsError("'payload.iterator' must be a list of objects (one per run)")
        return [_iterated(experiment, command, shots, samples, it) for it in iterations]
    except PhysicsError:
        raise
    except Exception as exc:  # Perceval raises many types on a bad serialized value
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        raise PhysicsError(f"the payload's experiment could not be read by Perceval: {message}") from None


def _experiment_v1(payload: Mapping[str, Any]) -> Any:
    from perceval.serialization import deserialize

    experiment = deserialize(payload["experiment"])
    if type(experiment).__name__ != "Experiment":
        raise PhysicsError(f"'payload.experiment' holds a {type(experiment).__name__}, not an Experiment")
    return experiment


def _experiment_v0(payload: Mapping[str, Any]) -> Any:
    import perceval as pcvl
    from perceval.serialization import deserialize

    circuit = deserialize(payload["circuit"])
    experiment = pcvl.Experiment(circuit)
    # the order matters: a v0 input state spans every mode, heralded ones included, so it comes first
    if payload.get("input_state") is not None:
        state = deserialize(payload["input_state"])
        experiment.with_input(state if not isinstance(state, str) else pcvl.BasicState(state))
    if payload.get("noise"):
        experiment.noise = deserialize(payload["noise"])
    if payload.get("postselect"):
        postselect = deserialize(payload["postselect"])
        experiment.set_postselection(postselect if not isinstance(postselect, str) else pcvl.PostSelect(postselect))
    for mode, photons in (payload.get("heralds") or {}).items():
        experiment.add_herald(int(mode), int(photons))
    parameters = payload.get("parameters")
    if isinstance(parameters, Mapping) and parameters.get("min_detected_photons") is not None:
        experiment.min_detected_photons_filter(int(parameters["min_detected_photons"]))
    return experiment


def _runs_of_computation(computation: Any, noise: Any) -> list[Run]:
    """v2: a Computation (or a ComputationIterator, one Computation per iteration); the payload's own
    ``noise`` applies to experiments that carry none."""
    parts = list(computation) if type(computation).__name__ == "ComputationIterator" else [computation]
    runs = []
    for part in parts:
        params = dict(part.parameters or {})
        experiment = part.experiment
        if experiment.noise is None and noise is not None:
            experiment = experiment.copy()
            experiment.noise = noise
        runs.append(Run(experiment, part.command.name, _int_or_none(params.get("max_shots")),
                        _int_or_none(params.get("max_samples"))))
    return runs


def _iterated(experiment: Any, command: str, shots: int | None, samples: int | None, it: Mapping[str, Any]) -> Run:
    """``experiment`` with one batch iteration's changes (Perceval's ``add_iteration`` keys)."""
    from perceval.serialization import deserialize

    changed = experiment.copy()
    values = {key: deserialize(value) for key, value in it.items()}
    for name, value in (values.get("circuit_params") or {}).items():
        if value is not None:
            changed.get_circuit_parameters()[name].set_value(value)
    if values.get("input_state") is not None:
        changed.with_input(values["input_state"])
    if values.get("min_detected_photons") is not None:
        changed.min_detected_photons_filter(int(values["min_detected_photons"]))
    if values.get("postselect") is not None:
        changed.set_postselection(values["postselect"])
    if values.get("noise") is not None:
        changed.noise = values["noise"]
    return Run(changed, command, _int_or_none(values.get("max_shots", shots)),
               _int_or_none(values.get("max_samples", samples)), dict(it))


def size_of(experiment: Any) -> tuple[int, int]:
    """(modes, photons) the platform must handle, heralded modes and photons included."""
    state = experiment.input_state
    photons = int(state.n) if state is not None and hasattr(state, "n") else 0
    return int(experiment.m), photons


def noise_of_perfs(perfs: Mapping[str, Any]) -> Any:
    """A Perceval NoiseModel from a platform's ``perfs`` (Perceval's keys, in percent)."""
    _require_perceval()
    from perceval.utils.noise_model import perf_dict_to_noise

    return perf_dict_to_noise({k: float(v) for k, v in perfs.items() if k in PERF_KEYS})


def detector_efficiencies(perfs: Mapping[str, Any]) -> tuple[float, ...] | None:
    """The efficiency of each detector a platform advertises in Perceval's per-mode form (``None`` when it
    advertises none): ``t_out[k] / max(t_out)``, as Perceval's client computes it. A form that is not a list
    of positive numbers is the cloud's mistake: a :class:`PhysicsError` naming the key."""
    per_mode = perfs.get(PER_MODE_KEY)
    if per_mode is None:
        return None
    values = per_mode.get(OUT_KEY) if isinstance(per_mode, Mapping) else None
    if values is None and isinstance(per_mode, Mapping):
        return None
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < float("inf") for v in values)):
        raise PhysicsError(f"the platform advertises {PER_MODE_KEY!r} as {str(per_mode)[:120]}: Perceval reads "
                           f"{{{OUT_KEY!r}: [one positive transmission per mode]}}")
    best = max(values)
    return tuple(float(v) / best for v in values)


def exact(experiment: Any, *, noise: Any = None, use_noise: bool = True, threshold: bool = False,
          bound_unlisted: bool = True, efficiencies: tuple[float, ...] | None = None, by_backend: bool = False) -> Exact:
    """The exact distribution of ``experiment`` by SLOS at a converged precision: with its own noise
    model, else ``noise`` (the platform's); with none at all when ``use_noise`` is false (the ``ideal``
    reference). ``threshold``: the platform's detectors are threshold ones (Perceval's client adds them
    to an experiment that has none). A shot is an event with at least one photon (Perceval's definition,
    ``perceval/runtime/simulated_computer.py``), so no outcome without photons is ever listed.
    ``bound_unlisted``: also bound the mass left out (a second simulation; a cloud that only samples skips it).
    ``efficiencies``: the platform's detectors' (:func:`detector_efficiencies`), a noise like the others.
    ``by_backend``: a pure experiment's distribution from Perceval's SLOS back-end (:mod:`pure`), every
    outcome listed, in the natural order, rather than from its ``Processor`` (the check's way: not the
    reference cloud's)."""
    simulated = prepared(experiment, noise=noise, use_noise=use_noise, threshold=threshold, efficiencies=efficiencies)
    if by_backend:
        from pytest_cloudjob.physics import pure

        listed = pure.distribution(simulated, PRECISION)
        if listed is not None:  # no loss, no filter that drops a state: every shot is a sample
            return Exact(listed, 1.0)
    fine = _slos(simulated, PRECISION)
    probs = _positive(fine[0])
    perf = fine[1]
    # Perceval drops input and output states below precision x the largest probability: the accepted mass
    # grows as the precision is refined. What a refinement from PRECISION x 1000 to PRECISION added bounds
    # what lies beyond PRECISION (the tail shrank 250x or more per 1000x step on the shipped experiments).
    unlisted = 0.0
    if bound_unlisted and perf > 0 and simulated.noise is not None:
        coarse = _slos(simulated, PRECISION * PRECISION_STEP, states=False)  # its probability mass only
        unlisted = min(1.0, max(UNLISTED_FLOOR, abs(perf - coarse[1]) / perf))
    return Exact(probs, perf, unlisted, vacuum_probability(simulated))


#: Perceval's relative precision of a reference: its default (1e-6 of the largest probability, or
#: 1/shots) leaves up to 2.8e-5 of the mass of a 3-photon experiment with g2 > 0 unlisted (issue 20).
PRECISION = 1e-12
PRECISION_STEP = 1e3
UNLISTED_FLOOR = 1e-12


def prepared(experiment: Any, *, noise: Any = None, use_noise: bool = True, threshold: bool = False,
             efficiencies: tuple[float, ...] | None = None) -> Any:
    """A copy of ``experiment`` as the platform runs it: its noise (or the platform's), threshold detectors
    on every mode that has none when the platform has them, each detector at the efficiency the platform
    advertises for its mode (with the noise: the ``ideal`` reference has none), at least one photon detected."""
    _require_perceval()
    import perceval as pcvl

    simulated = experiment.copy()
    simulated.noise = (simulated.noise or noise) if use_noise else None
    if threshold and not any(simulated.detectors):
        for mode in range(simulated.m):
            simulated.add(mode, pcvl.Detector.threshold())
    if use_noise and efficiencies is not None:
        _set_efficiencies(simulated, efficiencies, threshold)
    if (simulated.min_photons_filter or 0) < 1:
        simulated.min_detected_photons_filter(1)
    return simulated


def _set_efficiencies(simulated: Any, efficiencies: tuple[float, ...], threshold: bool) -> None:
    """Each detector of ``simulated`` (its own copy) at its mode's efficiency, as Perceval's client sets the
    platform's; a mode without a detector gets the platform's kind (threshold or photon-number resolving)."""
    import perceval as pcvl

    for mode, efficiency in enumerate(efficiencies[:simulated.m]):
        if efficiency >= 1:
            continue
        detector = simulated.detectors[mode]
        if detector is None:
            detector = pcvl.Detector.threshold() if threshold else pcvl.Detector.pnr()
            detector.efficiency = efficiency
            simulated.add(mode, detector)
        elif isinstance(detector, pcvl.Detector):
            detector.efficiency = efficiency


def probs_at(experiment: Any, precision: float | None) -> Mapping[str, float]:
    """Perceval's answer at ``precision`` (``None``: its default), for the slack of a ``probs`` check."""
    return _slos(experiment, precision)[0]


def vacuum_probability(experiment: Any) -> float:
    """The probability that no photon reaches the detectors: no photon the source emits survives. A linear
    circuit keeps the photon number, so this is the source's own vacuum (0 for a perfect source)."""
    import perceval as pcvl

    if experiment.noise is None or experiment.input_state is None:
        return 0.0
    try:
        source = pcvl.Source.from_noise_model(experiment.noise)
        distribution = source.generate_distribution(experiment.input_state)
    except Exception:  # an input Perceval's source cannot expand (a distribution given as input)
        return 0.0
    return float(sum(p for state, p in distribution.items() if max(state.n) == 0))


def _positive(probs: Mapping[str, float]) -> Mapping[str, float]:
    """``probs`` without its outcomes of probability 0 (Perceval may list some)."""
    from pytest_cloudjob.physics.table import Table

    if isinstance(probs, Table):
        kept = probs.numbers > 0
        return probs if kept.all() else Table(probs.states[kept], probs.numbers[kept])
    return probs if not probs or min(probs.values()) > 0 else {s: p for s, p in probs.items() if p > 0}


def _slos(experiment: Any, precision: float | None, states: bool = True) -> tuple[Mapping[str, float], float]:
    """Perceval's SLOS answer (Perceval's ``Processor`` works on its own copy of ``experiment``): the
    probabilities by state text (none when ``states`` is false: only the probability a shot is kept)."""
    import perceval as pcvl

    result = pcvl.Processor("SLOS", experiment).probs(precision=precision)
    probs = as_text(result["results"]) if states else {}
    perf = result.get("physical_perf", 1.0) * result.get("logical_perf", 1.0) if "global_perf" not in result \
        else result["global_perf"]
    return probs, min(1.0, max(0.0, float(perf)))


def as_text(distribution: Any) -> Mapping[str, float]:
    """A Perceval ``BSDistribution`` as state text -> probability, in its own order: a :class:`table.Table`
    read from exqalibur's text of it (``{\n\t|1,0>: 0.5\n...}``, each state as ``str(state)`` writes it) and
    its values, no ``str`` made per state; else that text split, else state by state."""
    from pytest_cloudjob.physics import table

    tabled = table.of_distribution(distribution)
    if tabled is not None:
        return tabled
    words = str(distribution).replace(">:", ">").split()
    if len(words) == 2 * len(distribution) + 2 and words[0] == "{" and words[-1] == "}":
        probs = dict(zip(words[1:-1:2], map(float, words[2:-1:2])))
        if len(probs) == len(distribution):
            return probs
    return {str(state): float(p) for state, p in distribution.items()}  # a text of another shape


def empty_probability(exact: Exact, shots: int | None) -> float:
    """The probability that ``shots`` shots (events with at least one photon) keep no sample at all."""
    return 0.0 if shots is None else float((1.0 - keep_probability(exact)) ** shots)


def keep_probability(exact: Exact) -> float:
    """The probability that a shot (an event with at least one photon detected) is a sample."""
    detected = 1.0 - exact.vacuum
    return min(1.0, exact.perf / detected) if detected > 0 else 0.0


def threshold_detectors(details: Mapping[str, Any]) -> bool:
    """Whether a platform's details advertise threshold detectors (Perceval's ``specs.detector``, which its
    client turns into a threshold detector on every mode)."""
    specs = details.get("specs")
    return isinstance(specs, Mapping) and specs.get("detector") == "threshold"


def job_rng_seed(seed: int, job_key: str) -> int:
    """A 64-bit seed for one job: the same cloud seed and job give the same samples (replayable)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{job_key}".encode()).digest()[:8], "big")


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _require_perceval() -> None:
    """Import Perceval now (the first use that needs it), or say in one line why it cannot be."""
    reason = unavailable_reason()
    if reason is not None:
        raise PhysicsError(reason)
    try:
        import perceval  # noqa: F401
    except ImportError as exc:  # installed but broken (a missing dependency)
        raise PhysicsError(f"Perceval is installed but cannot be imported ({exc}); {EXTRA_HINT}") from None
