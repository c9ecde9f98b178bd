"""Reading scenario files: YAML with the line of every mapping and key kept, so every error can say
``file:line: what is wrong``.

A scenario file is input from anyone (a repository, a pull request), so reading it is bounded: a file that
would hang collection or take the machine's memory (an alias "billion laughs", thousands of nested
brackets, an integer of a million digits) is refused with its line like any other mistake. The limits are
far above what a hand-written scenario needs:

- ``MAX_FILE_BYTES``: the file is read whole, so its size is bounded first;
- ``MAX_NODES``: values in one file, each alias counted as the whole value it repeats (what every later
  walk over the scenario, and every request built from it, will visit); 80 times the largest shipped file;
- ``MAX_DEPTH``: nesting of mappings and lists (every later walk is recursive);
- ``MAX_INT_DIGITS``: digits of an integer (Python's own default bound for ``int(str)``).

Values are what a scenario sends and compares, JSON: strings, numbers, booleans, null, lists, mappings.
Numbers follow YAML 1.2 (``1e-6`` is a number; PyYAML's YAML 1.1 rules read it as a string), dates and
``1:20`` stay strings, and tags that make other Python types (``!!binary``, ``!!set``...) are refused.
YAML merge keys (``<<: *defaults``) work; a merged key keeps the line where it is written.
"""
from __future__ import annotations

import itertools
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from pytest_cloudjob.errors import CloudJobError

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 100
MAX_INT_DIGITS = 4300
_FLOAT_MAX = int(sys.float_info.max)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_INT_TAG = "tag:yaml.org,2002:int"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_NOT_JSON_TAGS = ("binary", "set", "omap", "pairs", "timestamp")

# YAML 1.2 floats (a dot or an exponent, the exponent's sign optional) with YAML 1.1's underscores;
# integers without YAML 1.1's base-60 form (``1:20`` is 80 there, and base 60 over a long value is slow).
_FLOAT = re.compile(r"""^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)
                    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)
_INT = re.compile(r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""", re.X)
# What YAML refuses in a stream (the same set as PyYAML's reader), found here to name its line.
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_SURROGATE = re.compile("[\uD800-\uDFFF]")


class ScenarioFormatError(CloudJobError):
    """A scenario file that cannot run; the message is ``path:line: what is wrong``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


class LineDict(dict[Any, Any]):
    """A mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]


# libyaml's parser when PyYAML was built with it (its wheels are): the pure-Python scanner made
# collecting 1000 files take 5 s. Our constructors, resolvers and bounds, and so the values and their
# lines, are the same on both (an error may name a neighbouring line when the parsers stop elsewhere).
_CBase: Any = getattr(yaml, "CSafeLoader", None)
_PureBase: Any = yaml.SafeLoader


class _OutOfBounds(Exception):
    """Raised while composing, where no line is known; ``load_documents`` finds it."""


class _BoundedComposer:
    """Both parsers tell the resolver each time they enter and leave a value, through Python: counting there
    stops a file of a million values (a 1 MiB flat list took 1.1 s, 8.8 s in Python's parser) or of a
    thousand nested lists (Python's recursive composer overflows) before it is built, for no extra call (these
    hooks only served path resolvers, which no scenario loader registers)."""

    _values = 0
    _level = 0

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._values += 1
        self._level += 1
        if self._values > MAX_NODES or self._level > MAX_DEPTH + 1:  # a plain value in the deepest list is one more
            raise _OutOfBounds

    def ascend_resolver(self) -> None:
        self._level -= 1


class _PureLoader(_BoundedComposer, _PureBase):  # type: ignore[misc]
    name: str
    steps_file: bool


_LOADERS: list[Any] = [_PureLoader]
if _CBase is not None:
    class _CLoader(_BoundedComposer, _CBase):  # type: ignore[misc]
        name: str
        steps_file: bool

    _LOADERS.append(_CLoader)
_Loader: Any = _LOADERS[-1]


def _error(loader: Any, line: int | None, message: str) -> ScenarioFormatError:
    return ScenarioFormatError(loader.name, line, message)


def _too_many(why: str = "") -> str:
    return f"more than {MAX_NODES} values{why}; a scenario file holds at most {MAX_NODES}"


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels of mappings and lists"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _mapping(loader: Any, node: yaml.Node) -> LineDict:
    if not isinstance(node, yaml.MappingNode):
        raise _error(loader, _line(node), f"!!map must be a mapping, got a {type(node).__name__[:-4].lower()}")
    out = LineDict()
    out.line = node.start_mark.line + 1
    key_lines: dict[str, int] = {}
    out.key_lines = key_lines
    construct = loader.construct_object
    merged: list[LineDict] = []
    merge_line = 0
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if key_node.tag == _MERGE_TAG:
            if merge_line:
                raise _error(loader, line, f"duplicate key '<<' (first at line {merge_line})")
            merge_line = line
            merged.extend(_merge_sources(loader, value_node, merge_line))
            continue
        key = construct(key_node, deep=True)
        if key.__class__ is not str and (not isinstance(key, (int, float, bool)) or key is None):
            raise _error(loader, line, "a key must be a plain value")
        if key in out:
            raise _error(loader, line, f"duplicate key {key!r}")
        out[key] = construct(value_node, deep=True)
        key_lines[str(key)] = line
    # YAML's merge: keys written here win, then the merged mappings in the order listed.
    for source in merged:
        for key, value in source.items():
            if key not in out:
                out[key] = value
                out.key_lines[str(key)] = source.line_of(str(key))
    return out


def _merge_sources(loader: Any, node: yaml.Node, line: int) -> list[LineDict]:
    nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
    sources = []
    for source in nodes:
        if not isinstance(source, yaml.MappingNode):
            raise _error(loader, line, "'<<' merges a mapping or a list of mappings (write '<<: *name')")
        sources.append(loader.construct_object(source, deep=True))
    return sources


def _sequence(loader: Any, node: yaml.Node) -> LineList:
    if not isinstance(node, yaml.SequenceNode):
        raise _error(loader, _line(node), f"!!seq must be a list, got a {type(node).__name__[:-4].lower()}")
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = _line(node)
    out.item_lines = [_line(child) for child in node.value]
    return out


def _string(loader: Any, node: yaml.Node) -> str:
    value: str = loader.construct_scalar(node)
    bad = _SURROGATE.search(value)
    if bad:
        raise _error(loader, _line(node), f"invalid Unicode in a string: a lone surrogate \\u{ord(bad.group()):04x}")
    return value


def _scalar_text(loader: Any, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _error(loader, _line(node), f"{node.tag.replace('tag:yaml.org,2002:', '!!')} must be a plain value")
    return str(node.value)


def _integer(loader: Any, node: yaml.ScalarNode) -> int:
    text = _scalar_text(loader, node)
    digits = len(text.lstrip("+-"))
    if digits > MAX_INT_DIGITS:
        raise _error(loader, _line(node), f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS})")
    try:
        value = int(yaml.SafeLoader.construct_yaml_int(loader, node))
    except ValueError:
        raise _error(loader, _line(node), f"not an integer: {_shown(loader, text)}") from None
    if abs(value) > _FLOAT_MAX:  # a JSON number, compared and sent as a float: a 400-digit one crashed its checks
        raise _error(loader, _line(node), f"the integer of {digits} digits is too large for a float "
                                          f"(at most about 1.8e308)")
    return value


def _float(loader: Any, node: yaml.ScalarNode) -> float:
    text = _scalar_text(loader, node)
    try:
        value = float(yaml.SafeLoader.construct_yaml_float(loader, node))
    except ValueError:
        raise _error(loader, _line(node), f"not a number: {_shown(loader, text)}") from None
    if math.isinf(value) and "inf" not in text.lower():
        raise _error(loader, _line(node), f"the number {_shown(loader, text)} is too large for a float")
    return value


def _boolean(loader: Any, node: yaml.ScalarNode) -> bool:
    _scalar_text(loader, node)
    try:
        return bool(yaml.SafeLoader.construct_yaml_bool(loader, node))
    except (KeyError, AttributeError):
        raise _error(loader, _line(node), f"not a boolean: {_shown(loader, str(node.value))}") from None


def _not_json(loader: Any, node: yaml.Node) -> Any:
    raise _error(loader, _line(node), f"the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not supported: "
                                      f"scenario values are strings, numbers, booleans, null, lists and mappings")


def _shown(loader: Any, text: str) -> str:
    """``text`` quoted for a message, unless it comes from an included file (which may be any file)."""
    return "(a value of an included file, not shown)" if getattr(loader, "steps_file", False) else _excerpt(text)


def _excerpt(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _implicit_resolvers(base: Any) -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """``base``'s table of plain-value types with our numbers, in the same places, and no dates."""
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for first, entries in base.yaml_implicit_resolvers.items():
        kept = []
        for tag, regexp in entries:
            if tag == _FLOAT_TAG:
                regexp = _FLOAT
            elif tag == _INT_TAG:
                regexp = _INT
            elif tag == _TIMESTAMP_TAG:
                continue
            kept.append((tag, regexp))
        table[first] = kept
    return table


for _cls in _LOADERS:
    _cls.yaml_implicit_resolvers = _implicit_resolvers(_cls)
    _cls.add_constructor(_MAP_TAG, _mapping)
    _cls.add_constructor(_SEQ_TAG, _sequence)
    _cls.add_constructor(_INT_TAG, _integer)
    _cls.add_constructor(_FLOAT_TAG, _float)
    _cls.add_constructor("tag:yaml.org,2002:bool", _boolean)
    for _tag in _NOT_JSON_TAGS:
        _cls.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_json)
# libyaml refuses a surrogate escape ("\\ud800") itself, and the text is strict UTF-8: only Python's parser makes one.
_PureLoader.add_constructor("tag:yaml.org,2002:str", _string)


class _Budget:
    """Counts the values of a file as they will be walked: an alias costs the whole value it repeats.

    Walks the composed node graph once (each node once, whatever the number of aliases to it), so a
    billion-laughs file is measured in microseconds and refused before anything is built from it.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.total = 0
        self.measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, levels of lists and mappings)
        self.open: set[int] = set()
        self.repeated = False  # an alias repeats a list or mapping

    def add(self, root: yaml.Node) -> None:
        self.measured.clear()  # ids are only unique among live objects: the last document's nodes may be gone
        self.total += 1 if isinstance(root, yaml.ScalarNode) else self.measure(root, 1)[0]
        if self.total > MAX_NODES:
            raise _error(self.loader, _line(root), self._too_many())

    def _too_many(self) -> str:
        return _too_many(" once aliases are expanded (a YAML alias bomb?)" if self.repeated else "")

    def measure(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        """(values, levels of lists and mappings) of a list or mapping; scalars are counted by their parent."""
        key = id(node)
        known = self.measured.get(key)
        if known is None:
            if key in self.open:
                raise _error(self.loader, _line(node), "an alias refers to a value that contains it (a recursive value)")
            if depth > MAX_DEPTH:
                raise _error(self.loader, _line(node), _too_deep())
            self.open.add(key)
            values, height = 1, 1
            children = node.value if isinstance(node, yaml.SequenceNode) else itertools.chain.from_iterable(node.value)
            for child in children:
                if child.__class__ is yaml.ScalarNode:
                    values += 1
                    continue
                child_values, child_height = self.measure(child, depth + 1)
                values += child_values
                if child_height >= height:
                    height = child_height + 1
                if values > MAX_NODES:
                    raise _error(self.loader, _line(node), self._too_many())
            self.open.discard(key)
            known = self.measured[key] = (values, height)
        else:
            self.repeated = True
        if depth - 1 + known[1] > MAX_DEPTH:
            raise _error(self.loader, _line(node), _too_deep())
        return known


def load_documents(path: Path, *, pure_python: bool = False, steps_file: bool = False) -> list[Any]:
    """Every YAML document of ``path`` (empty ones dropped); any problem names file and line.

    ``pure_python`` uses PyYAML's Python parser (what runs where libyaml is missing) instead of libyaml's.
    ``steps_file``: ``path`` is named by an ``include:``; it may be any file (``/etc/passwd``, a ``.env``
    holding a token), so a document that is not a list or mapping is named without quoting it.
    """
    text = _read_text(path)
    loader = (_PureLoader if pure_python else _Loader)(text)
    loader.name = str(path)
    loader.steps_file = steps_file
    budget = _Budget(loader)
    may_alias = "*" in text
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if may_alias:  # else the composer's own bounds hold: every value was composed once
                budget.add(node)
            document = loader.construct_document(node)
            if document is None:
                continue
            if not isinstance(document, (LineDict, LineList)):
                if steps_file:
                    raise ScenarioFormatError(path, _line(node), f"{STEPS_FILE_WORDS}, not a {_kind(document)} "
                                                                 "(its content is not shown)")
                raise ScenarioFormatError(path, _line(node), f"document {len(documents) + 1} must be a mapping with "
                                                             f"'name' and 'steps', got {_excerpt(str(document))}")
            documents.append(document)
    except _OutOfBounds:
        line, message = _first_excess(text, type(loader))
        raise ScenarioFormatError(path, line, message) from None
    except yaml.MarkedYAMLError as exc:
        # Point at where the broken construct began (an unclosed "{" is reported at the end of the file).
        # A tab is named where it is, not where the value it breaks began.
        start, problem = exc.context_mark, exc.problem_mark
        if problem and "tab" in str(exc.problem):
            start = None
        mark = start or problem
        line = mark.line + 1 if mark else 1
        detail = exc.problem or exc.context
        if start and problem and problem.line != start.line:
            detail = f"{exc.context}, {exc.problem} at line {problem.line + 1}"
        raise ScenarioFormatError(path, line, f"YAML does not parse: {detail}") from None
    except yaml.YAMLError as exc:
        raise ScenarioFormatError(path, 1, f"YAML does not parse: {exc}") from None
    finally:
        loader.dispose()
    return documents


#: What an ``include:`` must name; the one message for a file that is not one.
STEPS_FILE_WORDS = "a steps file holds one YAML list of steps (or 'steps:' and a list)"


def _kind(value: Any) -> str:
    return {str: "text", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _first_excess(text: str, parser_class: Any) -> tuple[int, str]:
    """Where ``text`` first goes beyond ``MAX_NODES`` or ``MAX_DEPTH``, from its events only (nothing built)."""
    parser = parser_class(text)
    values = level = 0
    try:
        while not parser.check_event(yaml.StreamEndEvent):
            event = parser.get_event()
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                values += 1
                level += 1
                line = event.start_mark.line + 1 if event.start_mark else 1
                if level > MAX_DEPTH + 1:
                    return line, _too_deep()
                if values > MAX_NODES:
                    return line, _too_many()
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionEndEvent)):
                level -= 1
    finally:
        parser.dispose()
    raise AssertionError("the composer went out of bounds, its events do not")  # pragma: no cover


def _read_text(path: Path) -> str:
    """The file's text, bounded in size; undecodable bytes and characters YAML refuses name their line."""
    try:
        with path.open("rb") as handle:
            # Asking for the limit would allocate 1 MiB per file; a pipe or an empty file says 0.
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(min(size or MAX_FILE_BYTES, MAX_FILE_BYTES) + 1)
    except OSError as exc:
        raise ScenarioFormatError(path, None, f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioFormatError(path, data.count(b"\n", 0, MAX_FILE_BYTES) + 1,
                                  f"the file is larger than {MAX_FILE_BYTES // 1024} KiB, the most a scenario file may be")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " (it looks like UTF-16: save it as UTF-8)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ScenarioFormatError(path, data.count(b"\n", 0, exc.start) + 1,
                                  f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column}{hint}") from None
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        column = bad.start() - text.rfind("\n", 0, bad.start())
        raise ScenarioFormatError(path, text.count("\n", 0, bad.start()) + 1,
                                  f"the character U+{ord(bad.group()):04X} is not allowed in YAML text "
                                  f"(a control character or a non-character), at column {column}")
    return text
