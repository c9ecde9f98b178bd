"""Experiments written as components in a scenario, compiled by Perceval into the payload Perceval sends.

A scenario's ``create`` payload may give ``experiment:`` as a mapping instead of a ``:PCVL:zip:`` blob::

    experiment:
      modes: 2                       # optional: the circuit's size (default: what the parts and heralds need)
      circuit:                       # the components, in order
        - bs: 0                      # a 50:50 beam splitter on modes 0 and 1 (Perceval's BS(), Rx convention)
        - ps: {mode: 1, phi: 0.5}
      input: [1, 1]                  # photons per mode that is not heralded (or "|1,1>")
      min_photons: 2                 # Perceval's min_detected_photons_filter

:func:`plan` checks the mapping in pure Python (no Perceval: a run without Perceval still loads the file
and skips its physics with the reason) and names the line of each mistake; :func:`compile_plan` builds
the ``perceval.Experiment`` and :func:`serialized` its ``serialize`` text, the payload's ``experiment``.
docs/physics.md ("Experiments written as components") lists every component and key.
"""
from __future__ import annotations

import cmath
import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.physics import cache
from pytest_cloudjob.text import closest

EXPERIMENT_KEYS = ("modes", "circuit", "input", "heralds", "postselect", "min_photons", "noise")
NOISE_KEYS = ("brightness", "indistinguishability", "g2", "g2_distinguishable", "transmittance",
              "phase_imprecision", "phase_error")
BS_KEYS = ("mode", "theta", "reflectivity", "phi_tl", "phi_bl", "phi_tr", "phi_br", "convention")
BS_CONVENTIONS = ("Rx", "Ry", "H")
COMPONENT_KEYS: dict[str, tuple[str, ...]] = {
    "bs": BS_KEYS,
    "ps": ("mode", "phi"),
    "perm": ("mode", "to"),
    "unitary": ("mode", "haar", "seed", "matrix"),
}
MAX_MODES = 64
UNITARY_TOLERANCE = 1e-9
_STATE = re.compile(r"^\|\s*\d+(\s*,\s*\d+)*\s*>$")


class ExperimentSpecError(CloudJobError, ValueError):
    """A readable experiment that cannot be built: ``line`` (or ``None``) and a message without a prefix."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line, self.message = line, message
        super().__init__(message)


@dataclass(frozen=True)
class Part:
    """One component: its kind, its first mode, the modes it spans, its arguments, its line."""

    kind: str
    mode: int
    size: int
    args: Mapping[str, Any]
    line: int | None


@dataclass(frozen=True)
class Plan:
    """A checked readable experiment, ready for Perceval."""

    modes: int
    parts: tuple[Part, ...]
    input: tuple[int, ...]
    heralds: Mapping[int, int] = field(default_factory=dict)
    postselect: str | None = None
    postselect_line: int | None = None
    min_photons: int | None = None
    noise: Mapping[str, Any] | None = None


def is_readable(value: Any) -> bool:
    """Whether a payload's ``experiment`` is written as components (a mapping), not as Perceval's text."""
    return isinstance(value, Mapping)


def _line_of(container: Any, key: Any, default: int | None) -> int | None:
    if isinstance(container, Mapping):
        line_of = getattr(container, "line_of", None)
        return line_of(str(key)) if line_of else default
    lines = getattr(container, "item_lines", None)
    return lines[key] if lines and isinstance(key, int) and key < len(lines) else default


def _own_line(value: Any, default: int | None) -> int | None:
    return getattr(value, "line", None) or default


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keys(mapping: Mapping[str, Any], allowed: Sequence[str], what: str, line: int | None) -> None:
    for key in mapping:
        if key not in allowed:
            raise ExperimentSpecError(_line_of(mapping, key, line), f"{what}: unknown key {key!r}{closest(key, allowed)}; "
                                                                    f"keys: {', '.join(allowed)}")


def _mode(value: Any, what: str, line: int | None) -> int:
    if not _is_int(value) or not 0 <= value < MAX_MODES:
        raise ExperimentSpecError(line, f"{what} must be a mode number between 0 and {MAX_MODES - 1}, got {_shown(value)}")
    return int(value)


def _number(mapping: Mapping[str, Any], key: str, what: str, line: int | None) -> float:
    value = mapping[key]
    if not _is_number(value):
        hint = " (a number, unquoted)" if isinstance(value, str) and _parses_as_float(value) else ""
        raise ExperimentSpecError(_line_of(mapping, key, line), f"{what}: {key!r} must be a number, got "
                                                                f"{_shown(value)}{hint}")
    return float(value)


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def plan(spec: Any, line: int | None = None) -> Plan:
    """The checked :class:`Plan` of a readable experiment, or :class:`ExperimentSpecError` at the line of the
    first mistake. Pure Python: Perceval is needed only to build it."""
    line = line or _own_line(spec, None)
    if not isinstance(spec, Mapping):
        raise ExperimentSpecError(line, f"experiment must be a mapping of {', '.join(EXPERIMENT_KEYS)}, or "
                                        "Perceval's serialized text")
    _keys(spec, EXPERIMENT_KEYS, "experiment", line)
    if "input" not in spec:
        raise ExperimentSpecError(line, "experiment: 'input' is required: the photons per mode, e.g. [1, 1, 0]")
    parts = _parts(spec.get("circuit", []), _line_of(spec, "circuit", line))
    heralds = _heralds(spec, line)
    state = _input(spec["input"], _line_of(spec, "input", line))
    needed = max([p.mode + p.size for p in parts] + [mode + 1 for mode in heralds] + [len(state) + len(heralds), 1])
    modes = needed
    if "modes" in spec:
        modes_line = _line_of(spec, "modes", line)
        given = spec["modes"]
        if not _is_int(given) or not 1 <= given <= MAX_MODES:
            raise ExperimentSpecError(modes_line, f"experiment: 'modes' must be a count between 1 and {MAX_MODES}, "
                                                  f"got {_shown(given)}")
        if given < needed:
            raise ExperimentSpecError(modes_line, f"experiment: 'modes' is {given}, but the components, the input "
                                                  f"and the heralds need {needed}")
        modes = int(given)
    if len(state) != modes - len(heralds):
        raise ExperimentSpecError(_line_of(spec, "input", line),
                                  f"experiment: 'input' gives {len(state)} modes, the experiment has {modes} of which "
                                  f"{len(heralds)} heralded: give {modes - len(heralds)} (the modes not heralded, in "
                                  "order, as Perceval's with_input)")
    postselect = spec.get("postselect")
    if postselect is not None and (not isinstance(postselect, str) or not postselect.strip()):
        raise ExperimentSpecError(_line_of(spec, "postselect", line), "experiment: 'postselect' must be Perceval's "
                                  f"PostSelect text such as \"[0,1]==1\", got {_shown(postselect)}")
    min_photons = spec.get("min_photons")
    if min_photons is not None and (not _is_int(min_photons) or min_photons < 0):
        raise ExperimentSpecError(_line_of(spec, "min_photons", line), "experiment: 'min_photons' must be a count "
                                  f">= 0, got {_shown(min_photons)}")
    return Plan(modes, tuple(parts), tuple(state), heralds, postselect, _line_of(spec, "postselect", line),
                min_photons, _noise(spec, line))


def _parts(circuit: Any, line: int | None) -> list[Part]:
    if not isinstance(circuit, list):
        raise ExperimentSpecError(line, f"experiment: 'circuit' must be a list of components ({', '.join(COMPONENT_KEYS)}), "
                                        f"got {type(circuit).__name__}")
    parts = []
    for index, item in enumerate(circuit):
        item_line = _line_of(circuit, index, line)
        what = f"circuit item {index + 1}"
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ExperimentSpecError(item_line, f"{what}: a component is a mapping with one kind, one of "
                                                 f"{', '.join(COMPONENT_KEYS)}")
        kind, args = next(iter(item.items()))
        if kind not in COMPONENT_KEYS:
            raise ExperimentSpecError(item_line, f"{what}: unknown component {kind!r}{closest(kind, COMPONENT_KEYS)}; "
                                                 f"components: {', '.join(COMPONENT_KEYS)}")
        parts.append(_part(str(kind), args, f"{what} ({kind})", _line_of(item, kind, item_line)))
    return parts


def _part(kind: str, args: Any, what: str, line: int | None) -> Part:
    if kind == "bs" and (_is_int(args) or isinstance(args, list)):  # bs: 0, or bs: [0, 1]
        modes = [args] if _is_int(args) else args
        first = _mode(modes[0] if modes else None, f"{what}: its mode", line)
        if len(modes) == 2 and modes[1] != first + 1 or len(modes) > 2:
            raise ExperimentSpecError(line, f"{what}: a beam splitter acts on two neighbouring modes, got {_shown(args)} "
                                            "(add a perm to bring modes together)")
        return Part(kind, first, 2, {"convention": "Rx"}, line)
    if not isinstance(args, Mapping):
        raise ExperimentSpecError(line, f"{what}: its arguments must be a mapping of {', '.join(COMPONENT_KEYS[kind])}")
    _keys(args, COMPONENT_KEYS[kind], what, line)
    first = _mode(args.get("mode", 0), f"{what}: 'mode'", _line_of(args, "mode", line))
    values: dict[str, Any] = {}
    if kind == "bs":
        if "theta" in args and "reflectivity" in args:
            raise ExperimentSpecError(_line_of(args, "reflectivity", line), f"{what}: give 'theta' or 'reflectivity', "
                                                                            "not both")
        for key in ("theta", "reflectivity", "phi_tl", "phi_bl", "phi_tr", "phi_br"):
            if key in args:
                values[key] = _number(args, key, what, line)
        if "reflectivity" in values and not 0 <= values["reflectivity"] <= 1:
            raise ExperimentSpecError(_line_of(args, "reflectivity", line), f"{what}: 'reflectivity' must be in [0, 1]")
        convention = args.get("convention", "Rx")
        if convention not in BS_CONVENTIONS:
            raise ExperimentSpecError(_line_of(args, "convention", line), f"{what}: 'convention' must be one of "
                                      f"{', '.join(BS_CONVENTIONS)}{closest(convention, BS_CONVENTIONS)}")
        values["convention"] = convention
        return Part(kind, first, 2, values, line)
    if kind == "ps":
        if "phi" not in args:
            raise ExperimentSpecError(line, f"{what}: 'phi' is required (the phase in radians)")
        return Part(kind, first, 1, {"phi": _number(args, "phi", what, line)}, line)
    if kind == "perm":
        to = args.get("to")
        if not isinstance(to, list) or not to or sorted(to) != list(range(len(to))) or \
                not all(_is_int(x) for x in to):
            raise ExperimentSpecError(_line_of(args, "to", line), f"{what}: 'to' must list where each mode goes, a "
                                      f"permutation of 0..n-1 such as [1, 0], got {_shown(to)}")
        return Part(kind, first, len(to), {"to": [int(x) for x in to]}, line)
    return _unitary(args, first, what, line)


def _unitary(args: Mapping[str, Any], first: int, what: str, line: int | None) -> Part:
    if ("haar" in args) == ("matrix" in args):
        raise ExperimentSpecError(line, f"{what}: give 'haar' (a size, with 'seed') or 'matrix' (its rows), one of them")
    if "haar" in args:
        size, seed = args["haar"], args.get("seed", -1)
        if not _is_int(size) or not 1 <= size <= MAX_MODES:
            raise ExperimentSpecError(_line_of(args, "haar", line), f"{what}: 'haar' must be the number of modes, got "
                                                                    f"{_shown(size)}")
        if not _is_int(seed) or seed is None or seed < 0:
            raise ExperimentSpecError(_line_of(args, "seed" if "seed" in args else "haar", line),
                                      f"{what}: 'seed' is required with 'haar': an integer >= 0 (the same seed, the "
                                      "same unitary)")
        return Part("unitary", first, int(size), {"haar": int(size), "seed": int(seed)}, line)
    if "seed" in args:
        raise ExperimentSpecError(_line_of(args, "seed", line), f"{what}: 'seed' goes with 'haar', not with 'matrix'")
    rows = args["matrix"]
    matrix_line = _line_of(args, "matrix", line)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and len(r) == len(rows) for r in rows):
        raise ExperimentSpecError(matrix_line, f"{what}: 'matrix' must be a square list of rows")
    values = [[_complex(x, f"{what}: matrix row {i + 1}", _line_of(rows, i, matrix_line)) for x in row]
              for i, row in enumerate(rows)]
    size = len(values)
    for i in range(size):
        for j in range(size):
            dot = sum(values[i][k] * values[j][k].conjugate() for k in range(size))
            if abs(dot - (1 if i == j else 0)) > 1e-6:
                raise ExperimentSpecError(matrix_line, f"{what}: 'matrix' is not unitary (rows {i + 1} and {j + 1}: "
                                                       f"inner product {_complex_text(dot)})")
    return Part("unitary", first, size, {"matrix": values}, line)


def _complex_text(value: complex) -> str:
    return f"{value.real:.3g}" if abs(value.imag) < 1e-12 else f"{value:.3g}"


def _complex(value: Any, what: str, line: int | None) -> complex:
    if _is_number(value):
        return complex(value)
    if isinstance(value, str):
        try:
            number = complex(value.replace(" ", ""))
        except ValueError:
            pass
        else:
            if cmath.isfinite(number):
                return number
    raise ExperimentSpecError(line, f"{what}: an entry must be a number or a complex number written as "
                                    f"\"0.5+0.5j\", got {_shown(value)}")


def _heralds(spec: Mapping[str, Any], line: int | None) -> dict[int, int]:
    heralds = spec.get("heralds", {})
    herald_line = _line_of(spec, "heralds", line)
    if not isinstance(heralds, Mapping):
        raise ExperimentSpecError(herald_line, "experiment: 'heralds' must map a mode to its photon count, e.g. {4: 0}")
    out = {}
    for mode, count in heralds.items():
        where = _line_of(heralds, mode, herald_line)
        number = _mode(mode, "experiment: a herald's mode", where)
        if not _is_int(count) or count < 0:
            raise ExperimentSpecError(where, f"experiment: herald of mode {mode} must be a photon count >= 0, got "
                                             f"{_shown(count)}")
        out[number] = int(count)
    return out


def _input(value: Any, line: int | None) -> list[int]:
    if isinstance(value, str) and _STATE.match(value.strip()):
        return [int(x) for x in value.strip().strip("|>").split(",")]
    if isinstance(value, list) and value and all(_is_int(x) and x >= 0 for x in value):
        return [int(x) for x in value]
    raise ExperimentSpecError(line, f"experiment: 'input' must be photon counts per mode, [1, 1, 0] or \"|1,1,0>\", "
                                    f"got {_shown(value)}")


def _noise(spec: Mapping[str, Any], line: int | None) -> dict[str, Any] | None:
    if "noise" not in spec:
        return None
    noise = spec["noise"]
    noise_line = _line_of(spec, "noise", line)
    if not isinstance(noise, Mapping) or not noise:
        raise ExperimentSpecError(noise_line, f"experiment: 'noise' must be a mapping of {', '.join(NOISE_KEYS)}")
    _keys(noise, NOISE_KEYS, "experiment: noise", noise_line)
    out: dict[str, Any] = {}
    for key, value in noise.items():
        if key == "g2_distinguishable":
            if not isinstance(value, bool):
                raise ExperimentSpecError(_line_of(noise, key, noise_line), "experiment: noise: 'g2_distinguishable' "
                                                                            "must be true or false")
            out[key] = value
            continue
        number = _number(noise, key, "experiment: noise", noise_line)
        if key not in ("phase_imprecision", "phase_error") and not 0 <= number <= 1:
            raise ExperimentSpecError(_line_of(noise, key, noise_line), f"experiment: noise: {key!r} must be in "
                                                                        f"[0, 1], got {number:g}")
        out[key] = number
    return out


# -- with Perceval ---------------------------------------------------------------------------------------------

def haar_matrix(size: int, seed: int) -> Any:
    """A Haar-random unitary from ``seed``: the QR of a complex Gaussian matrix drawn by
    ``numpy.random.default_rng(seed)``, its phases fixed (Mezzadri's recipe), as a ``perceval.Matrix``."""
    import numpy
    import perceval as pcvl

    rng = numpy.random.default_rng(seed)
    z = (rng.standard_normal((size, size)) + 1j * rng.standard_normal((size, size))) / numpy.sqrt(2)
    q, r = numpy.linalg.qr(z)
    return pcvl.Matrix(q * (numpy.diag(r) / numpy.abs(numpy.diag(r))))


def _component(part: Part) -> Any:
    import perceval as pcvl

    args = part.args
    if part.kind == "bs":
        theta = pcvl.BS.r_to_theta(args["reflectivity"]) if "reflectivity" in args else args.get("theta", math.pi / 2)
        return pcvl.BS(theta=theta, phi_tl=args.get("phi_tl", 0), phi_bl=args.get("phi_bl", 0),
                       phi_tr=args.get("phi_tr", 0), phi_br=args.get("phi_br", 0),
                       convention=pcvl.BSConvention[args["convention"]])
    if part.kind == "ps":
        return pcvl.PS(args["phi"])
    if part.kind == "perm":
        return pcvl.PERM(list(args["to"]))
    if "haar" in args:
        return pcvl.Unitary(haar_matrix(args["haar"], args["seed"]))
    return pcvl.Unitary(pcvl.Matrix(args["matrix"]))


def compile_plan(checked: Plan) -> Any:
    """The ``perceval.Experiment`` of a checked plan; what Perceval refuses is an :class:`ExperimentSpecError`
    at the line of the part (or of ``postselect``) it came from."""
    import perceval as pcvl

    experiment = pcvl.Experiment(checked.modes)
    for part in checked.parts:
        try:
            experiment.add(part.mode, _component(part))
        except Exception as exc:  # Perceval's own refusal (a part beyond the modes, a matrix it rejects)
            raise ExperimentSpecError(part.line, f"{part.kind} at mode {part.mode}: Perceval refused it: {exc}") from None
    for mode, count in checked.heralds.items():
        experiment.add_herald(mode, count)
    experiment.with_input(pcvl.BasicState(list(checked.input)))
    if checked.postselect is not None:
        try:
            experiment.set_postselection(pcvl.PostSelect(checked.postselect))
        except Exception as exc:
            raise ExperimentSpecError(checked.postselect_line, f"experiment: 'postselect' {checked.postselect!r}: "
                                                               f"Perceval cannot read it: {exc}") from None
    if checked.min_photons is not None:
        experiment.min_detected_photons_filter(checked.min_photons)
    if checked.noise is not None:
        experiment.noise = pcvl.NoiseModel(**checked.noise)
    return experiment


def serialized_plan(checked: Plan) -> str:
    """The payload's ``experiment`` text of a checked plan: Perceval's ``serialize``, a ``:PCVL:zip:`` string.
    Kept in the physics cache: loading the shipped physics scenarios again imports no Perceval."""
    entry = cache.key("compiled", dataclasses.asdict(checked))
    kept = cache.get(entry)
    if isinstance(kept, str) and kept.startswith(":PCVL:"):
        return kept
    from perceval.serialization import serialize

    text = str(serialize(compile_plan(checked)))
    cache.put(entry, text)
    return text


def serialized(spec: Any, line: int | None = None) -> str:
    """:func:`serialized_plan` of a readable experiment; :class:`ExperimentSpecError` for a mistake, at its line."""
    return serialized_plan(plan(spec, line))
