"""Reading scenario files: YAML with the line of every mapping and key kept, so every error can say
``file:line: what is wrong``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pytest_cloudjob.errors import CloudJobError


class ScenarioFormatError(CloudJobError):
    """A scenario file that cannot run; the message is ``path:line: what is wrong``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


class LineDict(dict):
    """A mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list[int]


# libyaml's parser when PyYAML was built with it (its wheels are): the pure-Python scanner made
# collecting 1000 files take 5 s. Our constructors, and so the line numbers, are the same on both.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise ScenarioFormatError(loader.name, key_node.start_mark.line + 1, "a key must be a plain value")
        if key in out:
            raise ScenarioFormatError(loader.name, key_node.start_mark.line + 1, f"duplicate key {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_documents(path: Path) -> list[Any]:
    """Every YAML document of ``path`` (empty ones dropped); a parse error names file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFormatError(path, None, f"cannot read the file ({exc})") from None
    loader = _Loader(text)
    loader.name = str(path)
    documents = []
    try:
        while loader.check_data():
            document = loader.get_data()
            if document is not None:
                documents.append(document)
    except yaml.MarkedYAMLError as exc:
        # Point at where the broken construct began (an unclosed "{" is reported at the end of the file).
        start, problem = exc.context_mark, exc.problem_mark
        mark = start or problem
        line = mark.line + 1 if mark else None
        detail = exc.problem or exc.context
        if start and problem and problem.line != start.line:
            detail = f"{exc.context}, {exc.problem} at line {problem.line + 1}"
        raise ScenarioFormatError(path, line, f"YAML does not parse: {detail}") from None
    except yaml.YAMLError as exc:
        raise ScenarioFormatError(path, None, f"YAML does not parse: {exc}") from None
    finally:
        loader.dispose()
    return documents
