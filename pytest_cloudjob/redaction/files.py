"""Redaction of pytest's own objects before anyone shows them: reports, warnings, internal errors, the
``--debug`` trace file, the process's standard streams (a test's output with capture off), and the last
pass over an Allure results folder (:func:`redact_folder`).

Each object keeps its type (a skip's ``longrepr`` stays pytest's ``(path, line, reason)`` tuple, a
failure stays an exception representation with its crash line), because pytest's summaries, junit XML
and xdist's serialisation all rely on those types.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import warnings
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob.redaction import redact, redact_data

_MAX_DEPTH = 12


def _redacted(value: Any, depth: int) -> Any:
    """``value`` with its strings redacted: strings, lists and tuples are rebuilt, dataclasses edited in place."""
    if isinstance(value, str):
        return redact(value)
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [_redacted(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_redacted(v, depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            current = getattr(value, f.name, None)
            new = _redacted(current, depth + 1)
            if new is not current and new != current:
                object.__setattr__(value, f.name, new)
    return value


def redact_longrepr(longrepr: Any) -> Any:
    """``longrepr`` with every secret masked, of the same type whenever pytest's types allow it."""
    if longrepr is None:
        return None
    if isinstance(longrepr, (str, tuple)):
        return _redacted(longrepr, 0)
    text = str(longrepr)
    if redact(text) == text:
        return longrepr
    _redacted(longrepr, 0)
    # A representation we could not edit field by field (a plugin's own class) is shown as redacted text.
    return longrepr if redact(str(longrepr)) == str(longrepr) else redact(text)


def redact_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Mask secrets in a report's failure or skip, captured sections and xfail reason, in place."""
    report.longrepr = redact_longrepr(report.longrepr)
    report.sections = [(title, redact(content)) for title, content in report.sections]
    reason = getattr(report, "wasxfail", None)
    if isinstance(reason, str):
        report.wasxfail = redact(reason)  # type: ignore[union-attr]


def redact_warning(message: warnings.WarningMessage) -> None:
    """Mask secrets in a recorded warning's text, keeping its category for filters and the summary."""
    warning = message.message
    text = str(warning)
    masked = redact(text)
    if masked == text:
        return
    if isinstance(warning, Warning):
        warning.args = (masked,)
        if str(warning) == masked:
            return
        message.message = UserWarning(masked)
    else:
        message.message = UserWarning(masked)


def redact_exception_repr(excrepr: Any) -> None:
    """Mask secrets in an INTERNALERROR's representation in place, so every later reader (the terminal,
    junit XML, the stderr fallback) prints the masked text."""
    text = str(excrepr)
    if redact(text) == text:
        return
    _redacted(excrepr, 0)
    if redact(str(excrepr)) != str(excrepr):
        masked = redact(text)
        excrepr.toterminal = lambda tw: tw.line(masked)


def redact_debug_trace(config: pytest.Config) -> None:
    """Under ``--debug``, mask what the trace file already holds (the command line) and route every later
    trace line through :func:`redact`. The writer pytest installs is the debug file's bound ``write``."""
    root = config.trace.root
    writer = getattr(root, "_writer", None)
    debug_file = getattr(writer, "__self__", None)
    if writer is None or debug_file is None or not hasattr(debug_file, "name"):
        return
    try:
        debug_file.flush()
        with open(debug_file.name, encoding="utf-8") as f:
            written = f.read()
        masked = redact(written)
        if masked != written:
            debug_file.seek(0)
            debug_file.truncate()
            debug_file.write(masked)
    except (OSError, ValueError):
        pass
    root.setwriter(lambda text: writer(redact(text)))


#: A line longer than this is written (redacted) without waiting for its end.
_MAX_PENDING = 64 * 1024


class MaskingStream:
    """A text stream that writes through :func:`redact`, a line at a time: ``print("token", tok)`` writes
    its arguments one by one, so masking each write alone would miss a secret cut across two writes.
    A partial line waits for its newline or a ``flush()``, as a line-buffered terminal shows it anyway.
    Everything else (``fileno``, ``isatty``, ``encoding``) is the wrapped stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._pending = ""

    @property
    def wrapped(self) -> Any:
        return self._stream

    def write(self, text: str) -> int:
        pending = self._pending + text
        if len(pending) > _MAX_PENDING:
            self._pending = ""
            self._stream.write(redact(pending))
        else:
            head, newline, self._pending = pending.rpartition("\n")
            if newline:
                self._stream.write(redact(head + newline))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._stream.write(redact(pending))
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        if self._pending:  # a direct use of the stream (its buffer, its fd) comes after what was written
            self.flush()
        return getattr(self._stream, name)


def mask_standard_streams() -> Callable[[], None]:
    """Route ``sys.stdout`` and ``sys.stderr`` through :class:`MaskingStream`; returns the undo function.

    Installed before pytest's capture starts, so the capture saves the masking streams as the "real"
    ones: a test's own output reaches the terminal masked with ``-s``, ``--capture=tee-sys`` or inside
    ``capsys.disabled()``, where no report carries it. Writes to the file descriptors themselves
    (``os.write(1, ...)``, a subprocess's output) are not seen."""
    replaced = []
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, MaskingStream):
            masking = MaskingStream(stream)
            setattr(sys, name, masking)
            replaced.append((name, masking))

    def uninstall() -> None:
        for name, masking in replaced:
            with contextlib.suppress(Exception):
                masking.flush()
            if getattr(sys, name) is masking:
                setattr(sys, name, masking.wrapped)

    return uninstall


def redact_folder(report_dir: Path, removed: list[Path] | None = None) -> int:
    """Mask secrets in every text file of the results folder; return how many files had to change.

    A file the disk will not let us rewrite (full, read-only) is removed rather than left holding a secret,
    and named in ``removed``; the rewrite goes through a ``.tmp`` file so a failed one never truncates it."""
    changed = 0
    for path in report_dir.iterdir() if report_dir.is_dir() else ():
        if path.is_file() and redact_file(path, removed):
            changed += 1
    return changed


def redact_file(path: Path, removed: list[Path] | None = None) -> bool:
    """Mask secrets in one text file in place; return whether it held one. A JSON file is masked string by
    string (it stays valid JSON), any other text as text (an XML file stays valid: ``***`` needs no escaping).
    A file that cannot be rewritten is removed rather than left holding a secret, and named in ``removed``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return False
    masked = redact(text)
    if masked == text:
        return False
    if path.suffix == ".json":
        with suppress(ValueError):
            masked = json.dumps(redact_data(json.loads(text)), ensure_ascii=False)
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(masked, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
        with suppress(OSError):
            path.unlink()
        if removed is not None:
            removed.append(path)
    return True
