"""What the client tells its listeners: each HTTP exchange (statistics, Allure, scenario failures) and its steps.

The client marks its calls as steps (``with step("create job ..."):``) and hands over text worth keeping
(``attach_text``). With no reporter installed these cost one attribute read, so the client stays fast and
free of any report library; the plugin installs an Allure reporter under ``--alluredir``. The hooks live
here, in the client's own layer, so that the client never imports :mod:`pytest_cloudjob.reporting`.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import requests

#: What a :class:`CallRecord` keeps of a response body; a longer body is kept as its first this-many bytes.
RECORD_BODY_BYTES = 64 * 1024


@dataclass
class CallRecord:
    """One HTTP exchange, as reporting and statistics see it (never with credentials).

    ``response_text`` is the whole body when it is at most :data:`RECORD_BODY_BYTES` long, else its start
    (``response_truncated``; ``response_size`` is the size received): a run keeps thousands of records, so
    none may hold a large body.
    """

    method: str
    url: str
    status: int | None
    elapsed: float
    request_body: Any = None
    response_text: str = ""
    attempt: int = 1
    endpoint: str = ""
    path_params: Mapping[str, str] = field(default_factory=dict)
    response_size: int = 0
    response_truncated: bool = False

    @functools.cached_property
    def response_json(self) -> Any:
        """The body decoded as JSON, once for every listener and reporter; ``None`` if it is not JSON or was cut."""
        if not self.response_text or self.response_truncated:
            return None
        try:
            return json.loads(self.response_text)
        except ValueError:
            return None


def record_text(response: requests.Response) -> tuple[str, bool]:
    """The text a :class:`CallRecord` keeps of ``response``, and whether it was cut."""
    content = response.content
    if len(content) <= RECORD_BODY_BYTES:
        return response.text, False
    return content[:RECORD_BODY_BYTES].decode(response.encoding or "utf-8", errors="replace"), True


F = TypeVar("F", bound=Callable[..., Any])


class StepReporter(Protocol):
    def step(self, title: str, summarise: bool = False) -> ContextManager[None]:
        """A nested step; ``summarise`` folds the calls inside into one summary (a wait's polls)."""

    def attach_text(self, name: str, text: str) -> None:
        """Keep ``text`` with the current step."""

    def on_call(self, record: Any) -> None:
        """One HTTP call of the client (an ``api.client.CallRecord``)."""


_reporter: StepReporter | None = None


def set_reporter(reporter: StepReporter | None) -> None:
    """Install (or with ``None`` remove) the process's reporter."""
    global _reporter
    _reporter = reporter


def step(title: str, summarise: bool = False) -> ContextManager[None]:
    reporter = _reporter
    return nullcontext() if reporter is None else reporter.step(title, summarise)


def attach_text(name: str, text: str) -> None:
    reporter = _reporter
    if reporter is not None:
        reporter.attach_text(name, text)


def wants_images() -> bool:
    """Whether the installed reporter keeps images (``attach_image``): a picture is prepared only then."""
    return callable(getattr(_reporter, "attach_image", None))


def attach_image(name: str, render: Callable[[], bytes | None]) -> None:
    """Keep a PNG with the current step: ``render`` draws it, called only by a reporter that writes it (it
    may give ``None``: no picture). Optional for a reporter: looked up, not required."""
    attach: Callable[[str, Callable[[], bytes | None]], None] | None = getattr(_reporter, "attach_image", None)
    if attach is not None:
        attach(name, render)


def notify_call(record: Any) -> None:
    reporter = _reporter
    if reporter is not None:
        reporter.on_call(record)


def expecting_error(expected: bool = True) -> ContextManager[None]:
    """Wrap a scenario step that expects an error (``expect_error:``): the call that fails inside it is the
    step's success, so it is not shown as a broken sub-step; the step's own verdict still decides.

    ``expected=False`` is a no-op, so a caller can write ``with reporting.expecting_error("expect_error" in args):``.
    """
    # Optional for a reporter (a silent or recording one has no broken steps to avoid): looked up, not required.
    expecting: Callable[[], ContextManager[None]] | None = getattr(_reporter, "expecting_error", None)
    return nullcontext() if expecting is None or not expected else expecting()


def reported(title: str) -> Callable[[F], F]:
    """Report each call of the decorated method as a step; ``title`` is formatted with ``self`` (or ``cls``)."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            reporter = _reporter
            if reporter is None:
                return method(*args, **kwargs)
            with reporter.step(title.format(self=args[0])):
                return method(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


R = TypeVar("R", bound=StepReporter)


@contextmanager
def reporting_to(reporter: R) -> Iterator[R]:
    """Install ``reporter`` for the duration of a block (tests and benchmarks); ``as`` gives it back, typed."""
    previous = _reporter
    set_reporter(reporter)
    try:
        yield reporter
    finally:
        set_reporter(previous)


class SilentReporter:
    """A reporter that reports nothing: installed (``reporting_to(SilentReporter())``) while calls that belong
    to no test run, such as the end-of-run leak sweeps, so they add no steps, attachments or call reports."""

    def step(self, title: str, summarise: bool = False) -> ContextManager[None]:
        return nullcontext()

    def attach_text(self, name: str, text: str) -> None:
        pass

    def on_call(self, record: Any) -> None:
        pass
