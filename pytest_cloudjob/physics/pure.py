"""The exact distribution of a *pure* experiment (one Fock input, a unitary circuit, no noise, no heralds,
no post-selection, photon-number resolving detectors) from Perceval's SLOS back-end, as one array.

``Processor("SLOS", e).probs()`` hands back a ``BSDistribution`` in a hashed order; reading its 12,376
states and values at 12 modes / 6 photons costs more than the simulation (docs/benchmarks.md, the physics
cost). The back-end's ``all_prob`` lists every output state's probability in exqalibur's ``FSArray`` order
(descending lexicographic), so the states are built here once per (modes, photons), as numpy arrays, and
checked against ``FSArray`` at a few places as they are built. The ``distribution`` check's ``ideal``
reference takes this path; the reference cloud keeps Perceval's ``Processor``, so the two do not share one code path.
"""
from __future__ import annotations

import functools
import math
import threading
from typing import Any

import numpy

from pytest_cloudjob.physics.table import Table, rank_of_digits

#: Within these, every state's text has one width (a digit a mode) and its digits make an int64 rank.
MAX_PHOTONS, MAX_MODES = 9, 18
#: The most states built here (16 modes / 8 photons are 490,314): beyond, Perceval's own path.
MAX_STATES = 1 << 20
_SPOT_CHECKS = 9
_LOCK = threading.Lock()  # a back-end holds its last circuit and input: one computation at a time


def is_pure(experiment: Any) -> bool:
    """Whether ``experiment`` (as the platform runs it: :func:`simulate.prepared`) is pure, so that its
    output distribution is the back-end's ``all_prob`` of its input, every output state kept."""
    try:
        return _pure(experiment)
    except AttributeError:  # a Perceval without one of these properties: its own path
        return False


def _pure(experiment: Any) -> bool:
    state = experiment.input_state
    postselect = experiment.post_select_fn
    return (experiment.noise is None and not any(experiment.detectors) and not experiment.heralds
            and not experiment.in_heralds and (postselect is None or not postselect.has_condition)
            and experiment.is_unitary and not experiment.has_td and not experiment.has_feedforward
            and type(state).__name__ == "FockState" and not state.has_annotations
            and 1 <= int(state.n) <= MAX_PHOTONS and 1 <= int(experiment.m) <= MAX_MODES
            and (experiment.min_photons_filter or 0) <= int(state.n)
            and _state_count(int(experiment.m), int(state.n)) <= MAX_STATES)


def distribution(experiment: Any, precision: float) -> Table | None:
    """The output distribution of a pure experiment, or ``None`` when it is not pure or exqalibur's state
    order is not the one built here (then the caller asks Perceval's ``Processor``). Outcomes below
    ``precision`` x the likeliest are left out, as Perceval's ``Processor`` leaves them at that precision
    (HOM's ``|1,1>`` is 1e-33 of rounding, not a possible outcome)."""
    if not is_pure(experiment):
        return None
    modes, photons = int(experiment.m), int(experiment.input_state.n)
    layout = _layout(modes, photons)
    if layout is None:
        return None
    states, ranks = layout
    try:
        with _LOCK:
            backend = _backend(modes, photons)
            backend.set_circuit(experiment.unitary_circuit())
            numbers = numpy.asarray(backend.all_prob(experiment.input_state), dtype=float)
    except Exception:  # a circuit the back-end refuses: Perceval's Processor says why, as before
        _backend.cache_clear()  # a back-end that raised half-way is not used again
        return None
    if numbers.shape != (len(states),):
        return None
    kept = (numbers > 0) & (numbers >= precision * float(numbers.max(initial=0.0)))
    if not kept.any():
        return None
    if kept.all():
        return Table(states, numbers, order=(ranks, _descending(len(ranks))))
    ranks = ranks[kept]
    return Table(states[kept], numbers[kept], order=(ranks, _descending(len(ranks))))


@functools.lru_cache(maxsize=4)
def _backend(modes: int, photons: int) -> Any:
    """Perceval's SLOS back-end (exqalibur's), one per state space: it lays out its ``modes`` x ``photons``
    arrays once (1.3 ms of the 1.9 a fresh one takes at 12 x 6) and computes each new circuit from them."""
    from perceval.backends import BackendFactory

    return BackendFactory.get_backend("SLOS")


def _state_count(modes: int, photons: int) -> int:
    return math.comb(modes + photons - 1, photons)


@functools.lru_cache(maxsize=8)
def _layout(modes: int, photons: int) -> tuple[Any, Any] | None:
    """Every state of ``photons`` photons in ``modes`` modes in descending lexicographic order: their texts
    (``|2,0>``, as ``str(state)`` writes them, an ``S<2 modes + 1>`` array) and ranks (:func:`table.rank_of_digits`,
    so strictly decreasing); ``None`` when exqalibur's order is not this one. Once per state space."""
    digits = _compositions(photons, modes)
    width = 2 * modes + 1
    text = numpy.empty((len(digits), width), dtype=numpy.uint8)
    text[:, 0], text[:, width - 1] = ord("|"), ord(">")
    text[:, 1:width - 1:2] = digits + ord("0")
    text[:, 2:width - 1:2] = ord(",")
    ranks = rank_of_digits(digits)
    states = text.view(f"S{width}").ravel()
    if not _same_order_as_exqalibur(states, modes, photons):
        return None
    states.flags.writeable = False
    ranks.flags.writeable = False
    return states, ranks


def _compositions(photons: int, modes: int) -> Any:
    """Every way to put ``photons`` photons in ``modes`` modes, one row each, in descending lexicographic order."""
    # rows[offsets[k]:offsets[k + 1]]: the ways to put k photons in the last j modes (j = 1 first), in order;
    # with one mode more, k photons are k - r in the new first mode (descending) and r in the others
    rows = numpy.arange(photons + 1, dtype=numpy.uint8).reshape(-1, 1)
    offsets = numpy.arange(photons + 2)
    for added in range(1, modes):
        sizes = numpy.diff(offsets)
        wanted = range(photons + 1) if added < modes - 1 else [photons]  # the last mode: only all the photons
        blocks = [numpy.hstack([numpy.repeat(numpy.arange(k, -1, -1, dtype=numpy.uint8), sizes[:k + 1])[:, None],
                                rows[:offsets[k + 1]]]) for k in wanted]
        offsets = numpy.concatenate([[0], numpy.cumsum([len(block) for block in blocks])])
        rows = numpy.vstack(blocks)
    return rows[offsets[-2]:]


def _same_order_as_exqalibur(states: Any, modes: int, photons: int) -> bool:
    """Whether exqalibur's ``FSArray`` (the order ``all_prob`` lists) holds these states at a few places:
    its first, its last and evenly spaced ones between."""
    import exqalibur  # Perceval's own dependency: the order its SLOS back-end lists states in

    fsa = exqalibur.FSArray(modes, photons)
    count = int(fsa.count())
    if count != len(states):
        return False
    places = {round(i * (count - 1) / (_SPOT_CHECKS - 1)) for i in range(_SPOT_CHECKS)}
    return all(str(fsa[i]) == states[i].decode("ascii") for i in places)


def _descending(count: int) -> Any:
    """The positions that put a strictly decreasing array in ascending order."""
    return numpy.arange(count - 1, -1, -1)
