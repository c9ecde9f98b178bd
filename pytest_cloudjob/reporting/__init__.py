"""Reporting hooks the client layer calls without knowing who listens.

The client marks its calls as steps (``with step("create job ..."):``) and hands over text worth
keeping (``attach_text``). With no reporter installed these cost one attribute read, so the client
stays fast and free of any report library; the plugin installs an Allure reporter under ``--alluredir``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol, TypeVar

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


@contextmanager
def reporting_to(reporter: StepReporter) -> Iterator[StepReporter]:
    """Install ``reporter`` for the duration of a block (tests and benchmarks)."""
    previous = _reporter
    set_reporter(reporter)
    try:
        yield reporter
    finally:
        set_reporter(previous)
