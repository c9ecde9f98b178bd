"""Write docs/api.md, the Python API reference, from the code's own signatures and docstrings.

``python docs/generate_api.py > docs/api.md``. A test (tests/test_docs.py) fails when the committed file
differs from what this prints, so the reference cannot drift from the code.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest_cloudjob

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["CloudContext", "RetryPolicy", "User", "Job", "Platform", "PollingPolicy"]
#: Every public error: the ones the package root re-exports, in its order.
ERRORS = [name for name in pytest_cloudjob._EXPORTS
          if isinstance(getattr(pytest_cloudjob, name), type) and issubclass(getattr(pytest_cloudjob, name), Exception)]


def first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "")
    return " ".join(text.split("\n\n")[0].split())


class _Shown:
    """A default value shown by a fixed text (a frozenset's order changes from one process to the next)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def signature(obj: Any) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    parameters = [p.replace(default=_Shown("{" + ", ".join(repr(v) for v in sorted(p.default)) + "}"))
                  if isinstance(p.default, frozenset) else p for p in sig.parameters.values()]
    return str(sig.replace(parameters=parameters))


def own_public_methods(cls: type) -> list[tuple[str, Any]]:
    """Public methods of ``cls`` and of its bases from this package (a seed hook is written once, in
    ``ACloudObject``, and still part of ``Job``'s API), base first, an override in its base's place."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is not cls and not klass.__module__.startswith("pytest_cloudjob."):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            func = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if callable(func) or isinstance(value, property):
                out[name] = value
    return list(out.items())


def fields_set_in_init(cls: type) -> list[str]:
    """A dataclass's fields, or the public attributes ``__init__`` sets (``self.status = ...``)."""
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
    init = vars(cls).get("__init__")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init))) if init else None
    except OSError:
        tree = None
    if tree is None:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                if (isinstance(element, ast.Attribute) and isinstance(element.value, ast.Name)
                        and element.value.id == "self" and not element.attr.startswith("_")
                        and element.attr not in names):
                    names.append(element.attr)
    return names


#: The types the fixtures hand a test (``cloud_run``, ``cloud_job_factory``): not exported, named by module.
FIXTURE_TYPES = [("pytest_cloudjob.run.target", "CloudRun"), ("pytest_cloudjob.run.job_factory", "JobFactory")]


def class_section(name: str, cls: Any = None) -> list[str]:
    cls = cls if cls is not None else getattr(pytest_cloudjob, name)
    bases = ", ".join(b.__name__ for b in cls.__bases__ if b is not object)
    lines = [f"### `{name}{signature(cls)}`", ""]
    if bases:
        lines += [f"Bases: `{bases}`.", ""]
    lines += [first_paragraph(cls.__doc__), ""]
    fields = fields_set_in_init(cls)
    if fields:
        lines += ["Fields: " + ", ".join(f"`{f}`" for f in fields) + ".", ""]
    for method_name, value in own_public_methods(cls):
        if isinstance(value, property):
            lines.append(f"- `{method_name}` (property): {first_paragraph(value.__doc__)}")
            continue
        func = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        kind = "classmethod " if isinstance(value, classmethod) else ""
        lines.append(f"- {kind}`{method_name}{signature(func)}`: {first_paragraph(func.__doc__)}")
    if own_public_methods(cls):
        lines.append("")
    return lines


def fixtures_section() -> list[str]:
    tree = ast.parse((ROOT / "pytest_cloudjob" / "plugin.py").read_text())
    lines = ["| fixture | scope | what |", "|---|---|---|"]
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if isinstance(target, ast.Attribute) and target.attr == "fixture":
                scope = next((kw.value.value for kw in (call.keywords if call else [])
                              if kw.arg == "scope" and isinstance(kw.value, ast.Constant)), "function")
                lines.append(f"| `{node.name}` | {scope} | {first_paragraph(ast.get_docstring(node))} |")
    return lines


def main() -> None:
    out = ["# Python API reference", "",
           "Generated by `python docs/generate_api.py > docs/api.md` from the code's signatures and docstrings;",
           "`tests/test_docs.py` fails when it is out of date. Everything here is importable from `pytest_cloudjob`.",
           "", "## Classes", ""]
    for name in CLASSES:
        out += class_section(name)
    out += ["## Errors", "",
            "Every error raised on purpose derives from `CloudJobError`, a `RuntimeError`: "
            "`except pytest_cloudjob.CloudJobError` catches them all.", ""]
    for name in ERRORS:
        out += class_section(name)
    out += ["## Fixtures", ""] + fixtures_section() + [""]
    out += ["### What the fixtures return", "",
            "`cloud_run` and `cloud_job_factory` hand a test these; they are not exported from `pytest_cloudjob`",
            "(import them from their module for a type annotation).", ""]
    for module, name in FIXTURE_TYPES:
        out += class_section(f"{module}.{name}", getattr(importlib.import_module(module), name))
    sys.stdout.write("\n".join(line.rstrip() for line in out).rstrip() + "\n")


if __name__ == "__main__":
    main()
