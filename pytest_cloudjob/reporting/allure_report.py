"""Allure reporting under ``--alluredir``: titles, parameters and labels for every cloud test, each step
and call as a nested Allure step with its request/response, waits folded into one summary, the run's
``environment.properties`` and ``categories.json``, and a final redaction pass over the results folder.

Everything written here goes through :func:`pytest_cloudjob.redaction.redact`; the final pass over the
folder catches whatever other code attached (captured output, user attachments), so no token survives.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import allure
import allure_commons
import pytest
from allure_commons.model2 import Label, Status, StatusDetails, TestResult
from allure_commons.types import AttachmentType, LabelType

from pytest_cloudjob.api.client import CallRecord
from pytest_cloudjob.redaction import redact
from pytest_cloudjob.reporting import run_figures
from pytest_cloudjob.reporting.allure_categories import CATEGORIES, write_categories
from pytest_cloudjob.reporting.allure_typed import now, step_context, uuid4

__all__ = ["CATEGORIES", "AllureReporter", "item_labels", "report_bad_scenario_file", "scenario_title",
           "set_test_case_of_row", "target_epic", "write_run_files"]

EMBEDDED_EPIC = "embedded reference cloud"


def target_epic(url: str | None) -> str:
    """The epic label: stable across runs (the embedded cloud's port changes, its name does not)."""
    return EMBEDDED_EPIC if url is None else (urlsplit(url).netloc or url)


def call_title(record: CallRecord) -> str:
    outcome = record.status if record.status is not None else "no response"
    retry = f", attempt {record.attempt}" if record.attempt > 1 else ""
    return redact(f"{record.method} {urlsplit(record.url).path} -> {outcome} ({record.elapsed * 1000:.0f} ms{retry})")


def render_call(record: CallRecord) -> str:
    """The call as pretty JSON: method, URL, status, elapsed time, request and response bodies."""
    data = {"method": record.method, "url": record.url, "status": record.status,
            "elapsed_ms": round(record.elapsed * 1000, 1), "attempt": record.attempt,
            "request_body": record.request_body, "response_body": _response_body(record)}
    return redact(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _response_body(record: CallRecord) -> Any:
    """The decoded body (the raw text if it is not JSON), with the results text decoded too."""
    value = record.response_json
    if value is None:
        return record.response_text or None
    if isinstance(value, dict) and isinstance(value.get("results"), str):  # the results are JSON text too
        with suppress(ValueError):
            value = {**value, "results": json.loads(value["results"])}
    return value


def summarise_polls(records: list[CallRecord], seconds: float) -> str:
    """A wait's calls in a few lines instead of one attachment per poll."""
    statuses = Counter(str(r.status) if r.status is not None else "no response" for r in records)
    bodies = (r.response_json for r in records)
    job_statuses = [b["status"] for b in bodies if isinstance(b, dict) and isinstance(b.get("status"), str)]
    seen = [f"{status} x{len(list(run))}" for status, run in groupby(job_statuses)]
    lines = [f"{len(records)} call(s) in {seconds:.3f} s",
             "HTTP: " + ", ".join(f"{code} x{n}" for code, n in statuses.items()),
             "statuses seen: " + (", ".join(seen) or "none")]
    if records:
        lines += ["first: " + call_title(records[0]), "last:  " + call_title(records[-1])]
    return redact("\n".join(lines))


def expected_error_note(exc: BaseException) -> str:
    """How an error a step expected is named on its (passed) sub-step: ``expected error: HTTP 404``."""
    status = getattr(exc, "status", None)
    kind = getattr(exc, "kind", None)
    what = f"HTTP {status}" if status else f"{kind} error" if kind else type(exc).__name__
    return redact(f"expected error: {what}")


class AllureReporter:
    """The client's step reporter and call listener, writing to the running Allure test."""

    def __init__(self) -> None:
        self.in_test = False
        self._folded: list[CallRecord] | None = None
        self._expecting = 0

    @contextmanager
    def expecting_error(self) -> Iterator[None]:
        self._expecting += 1
        try:
            yield
        finally:
            self._expecting -= 1

    @contextmanager
    def step(self, title: str, summarise: bool = False) -> Iterator[None]:
        if self._folded is not None or not self.in_test:  # inside a wait: its polls are summarised
            yield
            return
        with self._allure_step(redact(title)):
            if not summarise:
                yield
                return
            folded: list[CallRecord] = []
            self._folded = folded
            started = time.monotonic()
            try:
                yield
            finally:
                self._folded = None
                if folded:
                    self.attach_text("polls", summarise_polls(folded, time.monotonic() - started))

    @contextmanager
    def _allure_step(self, title: str) -> Iterator[None]:
        """``allure.step``, except that an error the scenario step expects leaves the sub-step passed, with a note."""
        context = step_context(title)
        context.__enter__()
        try:
            yield
        except Exception as exc:
            if not self._expecting:
                context.__exit__(type(exc), exc, exc.__traceback__)
                raise
            note = expected_error_note(exc)
            self.attach_text(note, redact(f"{type(exc).__name__}: {exc}"))
            context.__exit__(None, None, None)
            raise
        except BaseException as exc:  # a skip, an interrupt: allure's own verdict
            context.__exit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            context.__exit__(None, None, None)

    def attach_text(self, name: str, text: str) -> None:
        if self.in_test:
            allure.attach(redact(text), name=redact(name), attachment_type=AttachmentType.TEXT)

    def attach_image(self, name: str, render: Callable[[], bytes | None]) -> None:
        """A PNG with the current step (a statistical check's chart), drawn only inside a test. A picture is
        secondary: a drawing that fails (a broken matplotlib, a font cache it cannot write) never breaks the
        check; the step says why it has no chart instead."""
        if self.in_test:
            try:
                image = render()
            except Exception as exc:
                self.attach_text(f"{name}: not drawn", f"{type(exc).__name__}: {exc}")
                return
            if image:
                allure.attach(image, name=redact(name), attachment_type=AttachmentType.PNG)

    def on_call(self, record: CallRecord) -> None:
        if self._folded is not None:
            self._folded.append(record)
        elif self.in_test:
            allure.attach(render_call(record), name=call_title(record), attachment_type=AttachmentType.JSON)


def write_run_files(report_dir: Path, environment: dict[str, str], figures: dict[str, Any] | None = None) -> None:
    """``environment.properties``, ``categories.json`` (Allure 2), ``allurerc.json`` (Allure 3's categories,
    history and the titles of the run's figures) and the run's per-platform ``figures`` (``run_figures.py``)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={redact(value).replace(chr(92), chr(92) * 2)}" for key, value in environment.items()]
    (report_dir / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = run_figures.metrics(figures) if figures is not None else []
    if figures is not None:
        run_figures.write_figures(report_dir, figures, found)
    write_categories(report_dir, run_figures.performance_config(found) if found else None)


def scenario_title(item: pytest.Item) -> str:
    """A scenario's Allure title: its name (with its row) and its platform, ``name[row] [sim:qa]``."""
    scenario: Any = getattr(item, "scenario", None)
    platform = getattr(item, "platform", "")
    return f"{scenario.name} [{platform}]" if platform else str(scenario.name)


def set_test_case_of_row(item: pytest.Item, listener: Any) -> None:
    """Give a ``parametrize:`` row its own Allure test case: allure-pytest names every row of a scenario
    ``file#name`` (it strips the ``[...]`` of the node id), so the rows would share a test case id and a
    history id. Reaches into the listener's running result; a listener without it is left alone."""
    scenario = getattr(item, "scenario", None)
    if scenario is None or not scenario.row:
        return
    try:
        result = listener.allure_logger.get_test(listener._cache.get(item.nodeid))
    except (AttributeError, KeyError, TypeError):
        return
    if result is None or not isinstance(getattr(result, "fullName", None), str):
        return
    result.fullName = f"{result.fullName}[{scenario.row}]"
    result.testCaseId = hashlib.md5(result.fullName.encode()).hexdigest()


def report_bad_scenario_file(nodeid: str, message: str, epic: str) -> None:
    """A scenario file that failed to load, as a broken Allure result (collection errors are otherwise absent)."""
    first_line = message.strip().splitlines()[-1] if message.strip() else nodeid
    case_id = hashlib.md5(nodeid.encode()).hexdigest()
    result = TestResult(uuid=uuid4(), name=f"bad scenario file: {nodeid}", fullName=nodeid,
                        historyId=case_id, testCaseId=case_id,
                        status=Status.BROKEN, start=now(), stop=now(),
                        statusDetails=StatusDetails(message=redact(f"bad scenario: {first_line}"), trace=redact(message)),
                        labels=[Label(LabelType.EPIC, epic), Label(LabelType.FEATURE, nodeid),
                                Label(LabelType.SEVERITY, "critical"), Label(LabelType.FRAMEWORK, "pytest-cloudjob")])
    allure_commons.plugin_manager.hook.report_result(result=result)


def item_labels(item: pytest.Item, epic: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(labels, parameters) for a cloud test: scenarios get theirs from the scenario."""
    scenario = getattr(item, "scenario", None)
    feature = item.nodeid.split("::")[0]
    if scenario is not None:
        labels = [(LabelType.EPIC, epic), (LabelType.FEATURE, feature), (LabelType.STORY, scenario.name),
                  (LabelType.SEVERITY, scenario.severity)]
        platform = getattr(item, "platform", "")
        parameters = {"platform": platform} if platform else {}
        if scenario.row:  # each row its own history: never one row shown as a retry of another
            parameters["row"] = scenario.row
        return labels, parameters
    labels = [(LabelType.EPIC, epic), (LabelType.FEATURE, feature),
              (LabelType.STORY, getattr(item, "originalname", item.name))]
    if not any(m.kwargs.get("label_type") == LabelType.SEVERITY for m in item.iter_markers("allure_label")):
        labels.append((LabelType.SEVERITY, "normal"))
    callspec = getattr(item, "callspec", None)
    platform = callspec.params.get("cloud_platform") if callspec is not None else None
    return labels, {"platform": platform} if platform else {}
