"""The pytest side of Allure reporting, registered by the plugin only when ``--alluredir`` is given."""
from __future__ import annotations

import platform as python_platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import allure
import pytest

from pytest_cloudjob import __version__, reporting
from pytest_cloudjob.redaction.files import redact_folder
from pytest_cloudjob.reporting import is_scenario_report
from pytest_cloudjob.reporting.allure_folder import LostWrites
from pytest_cloudjob.reporting.allure_report import (
    AllureReporter,
    item_labels,
    report_bad_scenario_file,
    scenario_title,
    set_test_case_of_row,
    target_epic,
    write_run_files,
)
from pytest_cloudjob.reporting.allure_typed import dynamic_description, dynamic_label, dynamic_title
from pytest_cloudjob.reporting.allure_writer import RedactingWriterSwap
from pytest_cloudjob.reporting.run_figures import run_figures
from pytest_cloudjob.reporting.run_level import report_to_allure
from pytest_cloudjob.run.summary import run_level_failures
from pytest_cloudjob.run.target import CloudRun


class AllureCloudPlugin:
    """Labels, titles and parameters per cloud test; a results writer that redacts as it writes; the run's
    files; a final redaction pass over the folder as a second line of defence; and the files the disk
    refused, counted and reported at the end instead of crashing the run."""

    def __init__(self, config: pytest.Config, run: CloudRun, report_dir: Path, is_cloud_item: Any) -> None:
        self.config = config
        self.run = run
        self.report_dir = report_dir
        self.is_cloud_item = is_cloud_item
        self.is_worker = hasattr(config, "workerinput")
        self.reporter = AllureReporter()
        self.lost = LostWrites(report_dir)
        self.writer_swap = RedactingWriterSwap(self.lost)
        reporting.set_reporter(self.reporter)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # After every pytest_configure (allure-pytest registers its file logger there), before any file is written.
        self.writer_swap.install(self.report_dir)

    @property
    def epic(self) -> str:
        return target_epic(self.run.settings.url)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.reporter.in_test = True
        if not self.is_cloud_item(item):
            return
        labels, parameters = item_labels(item, self.epic)
        for name, value in labels:
            dynamic_label(name, value)
        for name, value in parameters.items():
            allure.dynamic.parameter(name, value)
        if self.run.url:
            # The host is shown but left out of the history id: an embedded cloud's port changes every run.
            allure.dynamic.parameter("host", self.run.url, excluded=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        scenario = getattr(item, "scenario", None)
        if scenario is not None:
            dynamic_title(scenario_title(item))  # after allure-pytest has set the default name in setup
            set_test_case_of_row(item, self.config.pluginmanager.get_plugin("allure_listener"))
            if scenario.description:
                dynamic_description(scenario.description)
        return (yield)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.reporter.in_test = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        # Ctrl-C inside a test skips its logfinish: without this, the sweep's calls would be attached to a
        # test allure has already dropped (allure_commons' KeyError: None), and the sweep would die.
        self.reporter.in_test = False

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if self.is_worker or not report.failed or not is_scenario_report(report, self.config):
            return  # under xdist the controller gets each worker's failed collection once
        report_bad_scenario_file(report.nodeid, str(report.longrepr), self.epic)

    @pytest.hookimpl(tryfirst=True, wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Iterator[None]:
        self.reporter.in_test = False  # the sweep runs now, outside any test, whatever the way the run ended
        if self.is_worker:  # before xdist's own wrapper sends the worker's output to the controller
            self.config.workeroutput["cloudjob_allure_lost"] = self.lost.to_data()  # type: ignore[attr-defined]
        result = yield
        if not self.is_worker and self.run.ready:  # after the sweep (the plugin's sessionfinish, inside the yield)
            report_to_allure(run_level_failures(self.run), self.epic)
        self._write_run_files()
        if not self.is_worker and self.lost.count:
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            self._warn(self.lost.warning() or "")
        return result

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        data = getattr(node, "workeroutput", {}).get("cloudjob_allure_lost")
        if data:
            self.lost.merge(data)

    def _warn(self, line: str) -> None:
        """One line after the run's summary (the terminal's last words), or on stderr without a terminal."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line, yellow=True, bold=True)
        else:
            print(line, file=sys.stderr)

    def _write_run_files(self) -> None:
        if self.is_worker:
            return
        run = self.run
        try:
            self._write_environment(run)
        except OSError as exc:
            self.lost.record(exc)

    def _write_environment(self, run: CloudRun) -> None:
        write_run_files(self.report_dir, {
            "target": run.url or "not started (no test used the cloud)",
            "target.kind": "embedded reference cloud" if run.settings.url is None else "cloud given by URL",
            "platforms": ", ".join(run.settings.platforms),
            "slow.platform": run.settings.slow_platform,
            "run.id": run.run_id,
            "pytest-cloudjob.version": __version__,
            "pcvl.version": run.settings.pcvl_version,
            "python": f"{python_platform.python_implementation()} {sys.version.split()[0]}",
            "pytest": pytest.__version__,
        }, run_figures(run.stats.summary(), run.budget.results.values()) if run.ready else None)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        reporting.set_reporter(None)
        self.writer_swap.uninstall()
        if self.is_worker:
            return
        removed: list[Path] = []
        redact_folder(self.report_dir, removed)
        if removed:
            print(f"cloudjob: Allure results are incomplete: {len(removed)} file(s) of {self.report_dir} held a "
                  f"secret and could not be rewritten masked, so they were removed", file=sys.stderr)
