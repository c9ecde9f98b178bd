"""A pytest plugin the mutation runner loads into the user's run (``-p pytest_cloudjob.mutation.probe``):
it writes each test's outcome, node id and failure text as JSON lines, so the runner reads exact node ids
and the very text a user would read, without parsing terminal output.

Each failure also says whether it is a transport error of the client (``transport``: the
:class:`~pytest_cloudjob.api.errors.CloudApiError` of kind ``"transport"`` found in its exception chain, as
a scenario step wraps it, or ``""``): no answer from the cloud is no verdict on a defect. With ``STOP_ENV``
set, the run stops at its first failure that is *not* one (``-x`` would stop at a time-out, before the test
that kills the defect).

It also puts first the tests the command names (``FIRST_ENV``): the tests that killed the defects run just
before, which likely kill this one too, so a run stopped at its first failure stops early.

It also ends the run when the mutation command dies without a chance to stop it (SIGKILL): it watches a
pipe only the command writes to, and end-of-file there means the command is gone (see ``children.py``).
"""
from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Generator

import pytest

from pytest_cloudjob.api.errors import CloudApiError

OUTPUT_ENV = "CLOUDJOB_MUTATION_PROBE"
#: A JSON list of node ids to run first, in that order; every other test keeps its place after them.
FIRST_ENV = "CLOUDJOB_MUTATION_FIRST"
#: The pipe to watch: ``<read fd>:<pid of the command>``; the pid keeps an xdist worker of the run, which
#: inherits the variable but not the descriptor, from reading an unrelated descriptor.
PARENT_WATCH_ENV = "CLOUDJOB_MUTATION_PARENT_WATCH"
#: Set (to anything): stop the run at its first failure that is not a transport error.
STOP_ENV = "CLOUDJOB_MUTATION_STOP_AT_FIRST_VERDICT"


_config: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    _config[:] = [config]
    watch_parent()


def watch_parent() -> threading.Thread | None:
    """Start the watch if this process is the one the command started (an xdist worker inherits the
    variable, not the descriptor, and is stopped with its run's process group)."""
    value = os.environ.get(PARENT_WATCH_ENV, "")
    fd, _, parent = value.partition(":")
    if not (fd.isdigit() and parent.isdigit() and int(parent) == os.getppid()):
        return None
    thread = threading.Thread(target=_die_with_parent, args=(int(fd),), name="cloudjob-parent-watch", daemon=True)
    thread.start()
    return thread


def _die_with_parent(fd: int) -> None:
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        return  # not a pipe we can read after all: watch nothing rather than end a healthy run
    # End-of-file: the command is gone: nobody reads this run's verdict. Take the run's process group with it.
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Only the order changes: the same tests run, so a defect is killed exactly when it was before."""
    try:
        first = json.loads(os.environ.get(FIRST_ENV) or "[]")
    except ValueError:
        return
    rank = {nodeid: i for i, nodeid in enumerate(first) if isinstance(nodeid, str)}
    if rank:
        items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: the rest keep their order


def transport_error(exc: BaseException | None) -> CloudApiError | None:
    """The client's transport error in the chain of ``exc`` (``exc`` itself, its ``__cause__`` or
    ``__context__``, and theirs), or ``None``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CloudApiError) and current.kind == "transport":
            return current
        todo += [current.__cause__, current.__context__]
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                          pytest.TestReport]:
    """Runs where the test runs (an xdist worker too): marks a transport failure on its report (the
    attribute travels to the xdist controller with the report) and applies the stop rule."""
    report = yield
    transport = transport_error(call.excinfo.value) if call.excinfo is not None and report.failed else None
    report.cloudjob_transport = str(transport) if transport is not None else ""  # type: ignore[attr-defined]
    if report.failed and transport is None and os.environ.get(STOP_ENV) and not item.session.shouldfail:
        item.session.shouldfail = "stopping at the first failure that is not a transport error"  # as -x does
    return report


def _writes() -> bool:
    """Whether this process writes the outcomes: not the controller of an xdist run (its workers run the
    tests and write each outcome once, with the test's own text, not the controller's ``[gw0] ...`` copy)."""
    if not _config:
        return True
    config = _config[0]
    return hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("dsession")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = os.environ.get(OUTPUT_ENV)
    if not path or not _writes():
        return
    if report.when == "call" or report.failed or report.skipped:
        record = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                  "text": report.longreprtext if report.failed else "",
                  "transport": getattr(report, "cloudjob_transport", "") if report.failed else ""}
        line = (json.dumps(record) + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:  # one append per record: the lines of xdist workers never interleave
            while line:
                line = line[os.write(fd, line):]
        finally:
            os.close(fd)
