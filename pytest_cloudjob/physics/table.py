"""State text -> number, held as two numpy arrays: at 12 modes / 6 photons a dict of 12,376 ``str`` keys and
floats costs more to build than the SLOS run that computed them (docs/benchmarks.md, the physics cost).

A :class:`Table` is a read-only ``Mapping[str, float]`` in the order it was given: whoever reads it by key
or iterates it gets a dict built once; :func:`pytest_cloudjob.physics.stats.compare` and the reference
cloud's sampler use its arrays instead, so only the outcomes a cloud saw ever become ``str``. numpy is
Perceval's own dependency: nothing here is imported without Perceval.
"""
from __future__ import annotations

import base64
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any

import numpy

_TAB, _GT = 9, 62  # exqalibur's text: "{\n\t|1,0>: 0.5\n\t|0,1>: 0.5\n}"


class Table(Mapping[str, float]):
    """``states`` (a numpy ``S<width>`` array of ASCII state texts, all of one width) -> ``numbers``
    (float64), in order. ``order``, when the caller knows it: ``(ranks, positions)``, each state's rank
    (:func:`ranks_of`) and the positions that sort them, which :meth:`indices` would otherwise compute."""

    __slots__ = ("states", "numbers", "_dict", "_order")

    def __init__(self, states: Any, numbers: Any, order: tuple[Any, Any] | None = None) -> None:
        self.states = states
        self.numbers = numbers
        self._dict: dict[str, float] | None = None
        self._order: Any = order

    def as_dict(self) -> dict[str, float]:
        """The table as a dict (built once, on the first read by key)."""
        if self._dict is None:
            self._dict = dict(zip(self.texts(), self.numbers.tolist()))
        return self._dict

    def texts(self) -> list[str]:
        return [state.decode("ascii") for state in self.states.tolist()]

    def keys(self) -> KeysView[str]:
        return self.as_dict().keys()

    def values(self) -> ValuesView[float]:
        return self.as_dict().values()

    def items(self) -> ItemsView[str, float]:
        return self.as_dict().items()

    def __getitem__(self, state: str) -> float:
        return self.as_dict()[state]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.numbers)

    def __contains__(self, state: object) -> bool:
        return state in self.as_dict()

    def __repr__(self) -> str:
        return f"Table({len(self)} states)"

    def indices(self, keys: Iterable[str]) -> Any:
        """Each key's position in ``states`` (-1 for a key not in it), by a sorted search: no dict of the
        table's states is built. A key that is not ASCII text is in no table."""
        keys = list(keys)
        width = self.states.dtype.itemsize
        try:  # one byte wider: a longer key, cut to width + 1, still differs from every state
            wanted = numpy.array(keys, dtype=f"S{width + 1}")
        except UnicodeEncodeError:
            positions = {state: i for i, state in enumerate(self.texts())}
            return numpy.array([positions.get(k, -1) for k in keys], dtype=numpy.int64)
        if not len(self.states) or not keys:
            return numpy.full(len(keys), -1, dtype=numpy.int64)
        if self._order is None:
            ranks = ranks_of(self.states.view(numpy.uint8).reshape(-1, width))
            sortable = ranks if ranks is not None and bool((ranks >= 0).all()) else self.states
            self._order = (sortable, numpy.argsort(sortable, kind="stable"))
        sortable, order = self._order
        probe = wanted
        if sortable.dtype.kind == "i":  # a key of another width gets rank -1: found nowhere
            ranks = ranks_of(wanted.view(numpy.uint8).reshape(-1, width + 1)[:, :width])
            probe = numpy.where(numpy.char.str_len(wanted) == width, ranks, -1)
        ordered = sortable[order]
        at = order[numpy.minimum(numpy.searchsorted(ordered, probe), len(ordered) - 1)]
        found = self.states[at].astype(f"S{width + 1}") == wanted  # the texts themselves decide
        return numpy.where(found, at, -1).astype(numpy.int64)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form that reads back bit for bit (the values' own bytes, base64)."""
        return {"width": self.states.dtype.itemsize, "states": base64.b64encode(self.states.tobytes()).decode(),
                "values": base64.b64encode(self.numbers.astype("<f8").tobytes()).decode()}


def from_json(value: Any) -> Table | None:
    """A table from :meth:`Table.to_json`'s form, or ``None`` for anything else (a cache entry of another shape)."""
    if not isinstance(value, Mapping) or set(value) != {"width", "states", "values"}:
        return None
    try:
        states = numpy.frombuffer(base64.b64decode(value["states"]), dtype=f"S{int(value['width'])}")
        values = numpy.frombuffer(base64.b64decode(value["values"]), dtype="<f8").astype(float)
    except (ValueError, TypeError):
        return None
    return Table(states, values) if len(states) == len(values) else None


def of_distribution(distribution: Any) -> Table | None:
    """A Perceval ``BSDistribution`` as a table in its own order, states as ``str(state)`` writes them, from
    exqalibur's text of it (one ``__str__`` for all states) and its values; ``None`` when that text is not of
    the expected shape (states of unequal width, annotations): the caller then goes state by state."""
    count = len(distribution)
    text = str(distribution)
    if not count or not (text.startswith("{\n\t|") and text.endswith("\n}")) or not text.isascii():
        return None
    raw = numpy.frombuffer(text.encode("ascii"), dtype=numpy.uint8)
    starts, ends = numpy.flatnonzero(raw == _TAB) + 1, numpy.flatnonzero(raw == _GT) + 1
    if len(starts) != count or len(ends) != count:
        return None
    width = int(ends[0] - starts[0])
    if not numpy.all(ends - starts == width) or not numpy.all(raw[starts] == ord("|")):
        return None
    states = raw[starts[:, None] + numpy.arange(width)].view(f"S{width}").ravel()
    values = numpy.fromiter(distribution.values(), dtype=float, count=count)
    return Table(states, values)


def ranks_of(matrix: Any) -> Any:
    """Each row ``|d,d,...,d>`` (one digit a mode, at most 18 modes) as the integer of its digits, -1 for a
    row of another shape; ``None`` when no row of this width can be of that shape."""
    width = matrix.shape[1]
    modes = (width - 1) // 2
    if width % 2 == 0 or not 0 < modes <= 18:
        return None
    digits = matrix[:, 1:width - 1:2].astype(numpy.int64) - ord("0")
    valid = ((digits >= 0) & (digits <= 9)).all(axis=1) & (matrix[:, 0] == ord("|")) \
        & (matrix[:, width - 1] == _GT) & (matrix[:, 2:width - 1:2] == ord(",")).all(axis=1)
    return numpy.where(valid, rank_of_digits(digits), -1)


def rank_of_digits(digits: Any) -> Any:
    """Each row of mode occupations (0-9, at most 18 modes) as the integer its digits write: lexicographic
    order of the states is the order of their ranks."""
    return digits.astype(numpy.int64) @ (10 ** numpy.arange(digits.shape[1] - 1, -1, -1, dtype=numpy.int64))
