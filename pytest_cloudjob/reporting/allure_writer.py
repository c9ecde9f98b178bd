"""The Allure results writer, redacting every file as it is written.

allure-pytest writes through one ``AllureFileLogger`` per process (results, containers and attachments,
each to a ``.tmp`` file renamed into place). A redaction pass at the end of the run is too late for a run
that is killed (SIGKILL, an OOM kill, a CI hard timeout): whatever was already written keeps its tokens.
So the plugin swaps allure's logger for :class:`RedactingFileLogger`, which masks before the first byte
reaches the disk, ``.tmp`` files included, and puts the original back at the end of the run (allure-pytest's
own clean-up unregisters it by identity).

A write the disk refuses (ENOSPC, EROFS, EACCES) is counted in :class:`LostWrites`, never raised: the run
goes on, and its end says the report is incomplete (see ``allure_folder.py``).
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, cast

import allure_commons
from allure_commons.logger import AllureFileLogger
from attr import asdict

from pytest_cloudjob.redaction import redact, redact_data
from pytest_cloudjob.reporting.allure_folder import LostWrites


def _keep(_: Any, value: Any) -> bool:
    """allure's own filter: empty values are left out of the JSON, ``False`` is kept."""
    return bool(value) or value is False


def redact_bytes(body: bytes) -> bytes:
    """``body`` with secrets masked if it is UTF-8 text; binary data (an image) is returned unchanged."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    masked = redact(text)
    return body if masked == text else masked.encode("utf-8")


class RedactingFileLogger:
    """Writes what allure's file logger writes, with every string masked by :func:`redact`."""

    def __init__(self, report_dir: Path, lost: LostWrites | None = None) -> None:
        self.report_dir = report_dir.absolute()
        self.lost = lost if lost is not None else LostWrites(self.report_dir)
        try:
            self.report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # checked at start; gone since: each write will count as lost
            self.lost.record(exc)

    def _write(self, file_name: str, body: bytes) -> None:
        self._store(file_name, lambda temporary: temporary.write_bytes(body))

    def _store(self, file_name: str, fill: Callable[[Path], object]) -> None:
        """Fill a ``.tmp`` file and rename it into place; a refused write is counted and its leftover removed."""
        temporary = self.report_dir / f"{file_name}.tmp"
        try:
            fill(temporary)
            os.replace(temporary, self.report_dir / file_name)
        except OSError as exc:
            self.lost.record(exc)
            with suppress(OSError):
                temporary.unlink(missing_ok=True)

    def _report_item(self, item: Any) -> None:
        file_name = cast(str, item.file_pattern).format(prefix=uuid.uuid4())
        data = redact_data(asdict(item, filter=_keep))
        indent = 4 if os.environ.get("ALLURE_INDENT_OUTPUT") else None
        self._write(file_name, json.dumps(data, indent=indent, ensure_ascii=False).encode("utf-8"))

    @allure_commons.hookimpl
    def report_result(self, result: Any) -> None:
        self._report_item(result)

    @allure_commons.hookimpl
    def report_container(self, container: Any) -> None:
        self._report_item(container)

    @allure_commons.hookimpl
    def report_globals(self, globals_item: Any) -> None:
        self._report_item(globals_item)

    @allure_commons.hookimpl
    def report_attached_data(self, body: str | bytes, file_name: str) -> None:
        self._write(file_name, redact_bytes(body.encode("utf-8") if isinstance(body, str) else body))

    @allure_commons.hookimpl
    def report_attached_file(self, source: str | os.PathLike[str], file_name: str) -> None:
        body = Path(source).read_bytes()
        masked = redact_bytes(body)
        if masked is body:  # binary or clean: a plain copy keeps allure's behaviour (and the file's times)
            self._store(file_name, lambda temporary: shutil.copy2(source, temporary))
        else:
            self._write(file_name, masked)


class RedactingWriterSwap:
    """Replaces allure-pytest's file loggers by redacting ones for the run, then puts them back."""

    def __init__(self, lost: LostWrites | None = None) -> None:
        self.lost = lost
        self.replaced: list[tuple[Any, str | None]] = []
        self.writers: list[RedactingFileLogger] = []

    def install(self, report_dir: Path) -> int:
        """Swap every registered ``AllureFileLogger`` (allure-pytest's, for ``--alluredir``) for a redacting
        writer to ``report_dir``; return how many were swapped."""
        manager = allure_commons.plugin_manager
        for plugin in list(manager.get_plugins()):
            if isinstance(plugin, AllureFileLogger):
                name = manager.get_name(plugin)
                manager.unregister(plugin)
                writer = RedactingFileLogger(report_dir, self.lost)
                manager.register(writer)
                self.replaced.append((plugin, name))
                self.writers.append(writer)
        return len(self.writers)

    def uninstall(self) -> None:
        """Put allure's loggers back, so that allure-pytest's clean-up finds what it registered."""
        manager = allure_commons.plugin_manager
        for writer in self.writers:
            if manager.is_registered(writer):
                manager.unregister(writer)
        for plugin, name in self.replaced:
            if not manager.is_registered(plugin):
                manager.register(plugin, name)
        self.replaced, self.writers = [], []
