"""Perceval's text forms of results (``:PCVL:BSCount:{|0,2>=484;|2,0>=516}``), read and written with the
standard library, so checking a cloud's results never needs Perceval installed.

Perceval clients only accept these forms: plain ``"|1,0>"`` keys break its result-mapping path.
"""
from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_cloudjob.errors import CloudJobError

PREFIX = ":PCVL:"
ZIP = ":PCVL:zip:"
ARCHIVE_ZIP = "pcvlar:zip:"  # Perceval's compressed archive (a v2 ``computation``): ``pcvlar`` + the unpacked rest
# A zlib stream inflates up to ~1000x: a 160 kB results text once unpacked to 948 MiB in the client. Results
# of the largest experiment a platform runs (12 modes, 6 photons: 18,564 states) take well under 1 MiB.
MAX_UNZIPPED_BYTES = 8 << 20
MAX_RESULTS_JSON_DEPTH = 64  # nesting of the results JSON text, so a hostile text cannot exhaust the stack


class ResultsFormatError(CloudJobError, ValueError):
    """A results value that is none of Perceval's result forms nor a plain mapping or list of states."""


class UnzipError(ResultsFormatError):
    """A zipped value that does not unpack, or would unpack beyond its limit (a zip bomb: ``too_large``)."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def inflate(packed: str, limit: int = MAX_UNZIPPED_BYTES, what: str = ZIP + " value") -> str:
    """Base64 then zlib ``packed`` unpacked as UTF-8 text, never holding more than ``limit`` bytes of it:
    the stream is inflated with a cap (``decompressobj().decompress(data, max_length)``), so a bomb stops
    at the limit instead of filling the memory."""
    limit = max(limit, 0)  # (a max_length of 0 would mean no limit at all)
    try:
        data = base64.b64decode(packed)
        inflater = zlib.decompressobj()
        out = inflater.decompress(data, limit + 1)
    except (ValueError, binascii.Error, zlib.error) as exc:
        raise UnzipError(f"a {what} that does not unpack: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise UnzipError(f"a {what} unpacks to more than {limit} bytes (the limit of what is unpacked)", too_large=True)
    if not inflater.eof:
        raise UnzipError(f"a {what} that does not unpack: incomplete or truncated zlib stream")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnzipError(f"a {what} that does not unpack to UTF-8 text: {exc}") from None


@dataclass(frozen=True)
class Histogram:
    """Results as ``state -> value``: shot counts (``is_counts``, every value an ``int``) or probabilities."""

    values: dict[str, float]
    is_counts: bool


def unzip(text: str, limit: int = MAX_UNZIPPED_BYTES) -> str:
    """``:PCVL:zip:<base64 zlib>`` unpacked (at most ``limit`` bytes, else :class:`UnzipError`); anything
    else as it is."""
    if not text.startswith(ZIP):
        return text
    return inflate(text[len(ZIP):], limit)


def parse_results(value: Any) -> Histogram:
    """A histogram from a results value: a serialized BSCount/BSDistribution/BSSamples, a mapping
    state -> number, or a list of sampled states."""
    if isinstance(value, str):
        text = unzip(value)
        kind, _, body = text[len(PREFIX):].partition(":") if text.startswith(PREFIX) else ("", "", "")
        if kind in ("BSCount", "BSDistribution"):
            values = _parse_mapping_body(body, kind)
            return Histogram(values, kind == "BSCount")
        if kind == "BSSamples":
            return Histogram(_parse_samples_body(body), True)
        raise ResultsFormatError(f"not a Perceval BSCount, BSDistribution or BSSamples text: {text[:80]!r}")
    if isinstance(value, Mapping):
        numbers: dict[str, float] = {}
        for state, number in value.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ResultsFormatError(f"state {state!r} maps to {number!r}, not a number")
            numbers[str(state)] = number
        is_counts = all(isinstance(v, int) for v in value.values())
        return Histogram(numbers if is_counts else {state: float(n) for state, n in numbers.items()}, is_counts)
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        counts: dict[str, float] = {}
        for state in value:
            counts[state] = counts.get(state, 0) + 1
        return Histogram(counts, True)
    raise ResultsFormatError(f"results of type {type(value).__name__} are not a histogram")


def parse_results_text(text: Any) -> dict[str, Any]:
    """The object inside a result body's ``results`` field (a JSON text, or already an object)."""
    if isinstance(text, Mapping):
        return dict(text)
    if not isinstance(text, str):
        raise ResultsFormatError(f"expected the results JSON text, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ResultsFormatError(f"the results field is not JSON: {exc}") from None
    except RecursionError:
        raise ResultsFormatError("the results JSON is nested too deep to read") from None
    if not isinstance(data, dict):
        raise ResultsFormatError(f"the results JSON is a {type(data).__name__}, not an object")
    if _depth_beyond(data, MAX_RESULTS_JSON_DEPTH):
        raise ResultsFormatError(f"the results JSON is nested deeper than {MAX_RESULTS_JSON_DEPTH} levels")
    return data


def _depth_beyond(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers deeper than ``limit``, without recursion."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _parse_mapping_body(body: str, kind: str) -> dict[str, float]:
    if not (body.startswith("{") and body.endswith("}")):
        raise ResultsFormatError(f"a {kind} body must be {{state=value;...}}, got {body[:80]!r}")
    out: dict[str, float] = {}
    for item in filter(None, body[1:-1].split(";")):
        state, sep, number = item.rpartition("=")
        try:
            out[state] = int(number) if kind == "BSCount" else float(number)
        except ValueError:
            sep = ""
        if not sep or not state:
            raise ResultsFormatError(f"bad {kind} entry {item!r} (expected state=value)")
    return out


def _parse_samples_body(body: str) -> dict[str, float]:
    states_part, sep, indexes_part = body.partition("/")
    states = states_part.split(";") if states_part else []
    counts: dict[str, float] = {}
    try:
        for index in filter(None, indexes_part.split(";")):
            state = states[int(index)]
            counts[state] = counts.get(state, 0) + 1
    except (ValueError, IndexError):
        sep = ""
    if not sep:
        raise ResultsFormatError(f"a BSSamples body must be 'state;state/index;index...', got {body[:80]!r}")
    return counts


def bscount(counts: Mapping[str, int]) -> str:
    """``:PCVL:BSCount:{...}``, the form Perceval's ``sample_count`` results take."""
    return PREFIX + "BSCount:{" + ";".join(f"{s}={c}" for s, c in counts.items()) + "}"


def bsdistribution(probs: Mapping[str, float]) -> str:
    """``:PCVL:BSDistribution:{...}``, the form of ``probs`` results."""
    return PREFIX + "BSDistribution:{" + ";".join(f"{s}={p!r}" for s, p in probs.items()) + "}"


def bssamples(samples: list[str]) -> str:
    """``:PCVL:BSSamples:<states>/<indexes>``, the form of ``samples`` results."""
    index: dict[str, int] = {}
    for state in samples:
        index.setdefault(state, len(index))
    return PREFIX + "BSSamples:" + ";".join(index) + "/" + ";".join(str(index[s]) for s in samples)
