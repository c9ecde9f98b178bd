"""The pytest plugin's entry point: options, the per-run :class:`CloudJobPlugin`, and the fixtures.

As pytest's own plugins do (junitxml's ``LogXML``, cacheprovider's ``LFPlugin``), everything a run
owns lives in one object registered in ``pytest_configure`` and removed in ``pytest_unconfigure``; the
run's :class:`~pytest_cloudjob.run.target.CloudRun` sits on ``config.stash``. No state outlives a run.
"""
from __future__ import annotations

import uuid
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.api.cloud_objects.cloud_job import set_default_process_id
from pytest_cloudjob.redaction import install_log_redaction
from pytest_cloudjob.redaction.files import redact_debug_trace, redact_exception_repr, redact_report, redact_warning
from pytest_cloudjob.reporting import is_scenario_report
from pytest_cloudjob.reporting.run_level import redact_junit_file, report_to_junit
from pytest_cloudjob.run.job_factory import JobFactory
from pytest_cloudjob.run.settings import SettingsError, add_options, resolve
from pytest_cloudjob.run.signals import sigterm_as_interrupt
from pytest_cloudjob.run.summary import run_failures, run_level_failures, write_summary
from pytest_cloudjob.run.sweep import sweep
from pytest_cloudjob.run.target import RUN, CloudRun, TargetError, prepare_or_exit
from pytest_cloudjob.scenarios.collect import (
    DEFAULT_PATTERNS,
    ScenarioFile,
    ScenarioItem,
    declare_shipped_marks,
    looks_like_unmatched_scenario,
    matches,
    statistical_checks,
)

PLUGIN = pytest.StashKey["CloudJobPlugin"]()
CLOUD_FIXTURES = frozenset({"cloud_run", "cloud_context", "cloud_user", "cloud_other_user", "cloud_admin",
                            "cloud_platform", "cloud_job_factory", "cloud_slow_platform"})


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    parser.addini("cloud_scenario_patterns", "glob patterns of scenario files (default *.scenario.yaml "
                  "*.scenario.yml)", type="args", default=list(DEFAULT_PATTERNS))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    """Before pytest's capture starts: a test's own output is masked even with ``-s`` (cleaned up last)."""
    from pytest_cloudjob.redaction.files import mask_standard_streams

    early_config.add_cleanup(mask_standard_streams())
    return (yield)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("cloud_scenario_patterns")
    if matches(file_path, patterns):
        return ScenarioFile.from_parent(parent, path=file_path)
    unmatched = looks_like_unmatched_scenario(file_path, patterns)
    if unmatched is not None:
        warnings.warn_explicit(pytest.PytestConfigWarning(unmatched), pytest.PytestConfigWarning, str(file_path), 1)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """An ``--alluredir`` that cannot be written stops the run here, in one line, before allure-pytest's own
    configure trips on it (an INTERNALERROR) and before any cloud starts or any job is made."""
    report_dir = getattr(config.option, "allure_report_dir", None)
    if report_dir and not (config.option.help or config.option.version):
        from pytest_cloudjob.reporting.allure_folder import AllureFolderError, check_writable

        try:
            check_writable(Path(report_dir).absolute())
        except AllureFolderError as exc:
            raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cloud_platforms(*names): run this test only on these platforms")
    declare_shipped_marks(config)
    try:
        settings = resolve(config)
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    redact_debug_trace(config)  # the tokens are registered now: mask what the --debug file holds and will get
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and "cloudjob" in worker_input:
        run = CloudRun.for_worker(settings, worker_input["cloudjob"])
    else:
        run = CloudRun(settings, run_id=f"run-{uuid.uuid4()}")
    config.stash[RUN] = run
    plugin = CloudJobPlugin(config, run)
    config.stash[PLUGIN] = plugin
    config.pluginmanager.register(plugin, "cloudjob-run")
    if _is_xdist_controller(config):
        # Workers collect, the controller does not: start the one cloud of the run now.
        try:
            run.prepare()
        except TargetError as exc:
            run.stop()
            raise pytest.UsageError(str(exc)) from None
    report_dir = getattr(config.option, "allure_report_dir", None)
    if report_dir:
        from pytest_cloudjob.reporting.allure_plugin import AllureCloudPlugin

        config.pluginmanager.register(AllureCloudPlugin(config, run, Path(report_dir).resolve(), uses_the_cloud),
                                      "cloudjob-allure")


def pytest_unconfigure(config: pytest.Config) -> None:
    redact_junit_file(config)  # written at the session's end, by pytest's junit writer, from unmasked node ids
    plugin = config.stash.get(PLUGIN, None)
    if plugin is not None:
        plugin.close()
        config.pluginmanager.unregister(plugin)
        del config.stash[PLUGIN]


def _is_xdist_controller(config: pytest.Config) -> bool:
    return (config.pluginmanager.hasplugin("xdist") and bool(getattr(config.option, "numprocesses", None))
            and not hasattr(config, "workerinput"))


def uses_the_cloud(item: pytest.Item) -> bool:
    """Whether ``item`` talks to the cloud: a scenario, or a test using one of the cloud fixtures."""
    return isinstance(item, ScenarioItem) or bool(CLOUD_FIXTURES.intersection(getattr(item, "fixturenames", ())))


class CloudJobPlugin:
    """One run's hooks and state: the run's process id, redaction of logs and reports, SIGTERM as an
    interrupt, collection, the sweep, the run-level verdict, the summary."""

    def __init__(self, config: pytest.Config, run: CloudRun) -> None:
        self.config = config
        self.run = run
        self.is_worker = hasattr(config, "workerinput")
        self.announced = False
        self._previous_process_id = set_default_process_id(run.run_id)
        self._uninstall_log_redaction = install_log_redaction()
        self._restore_sigterm = sigterm_as_interrupt()

    def close(self) -> None:
        """Undo what the run installed in the process, and stop its cloud."""
        self._uninstall_log_redaction()
        set_default_process_id(self._previous_process_id)
        if not self.is_worker:
            self.run.stop()
        self._restore_sigterm()

    def _announcement(self) -> list[str]:
        """The run id as soon as the target is ready: a run killed before its summary (SIGKILL, an OOM
        kill) leaves jobs that an admin finds by this ``process_id``."""
        if self.is_worker or self.announced or not self.run.ready:
            return []
        self.announced = True
        return [f"cloudjob: run id: {self.run.run_id} (the process_id of every job of this run)"]

    @pytest.hookimpl(trylast=True)  # after pytest's header
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        for line in self._announcement():
            if reporter is not None:
                reporter.write_line(line)

    def pytest_report_collectionfinish(self, config: pytest.Config) -> list[str]:
        return self._announcement()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A broken scenario file is a collection error that names file and line, and the other files still
        run (under xdist the controller sees the workers' reports here)."""
        if report.failed and is_scenario_report(report, self.config):
            self.config.option.continue_on_collection_errors = True

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["cloudjob"] = self.run.worker_info()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {})
        data = output.get("cloudjob_jobs")
        if data:
            self.run.stats.merge(data)
        if output.get("cloudjob_checks"):
            self.run.budget.merge(output["cloudjob_checks"])

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "cloud_platform" not in metafunc.fixturenames:
            return
        configured = self.run.settings.platforms
        marker = metafunc.definition.get_closest_marker("cloud_platforms")
        chosen = [p for p in configured if marker is None or p in marker.args]
        if chosen:
            metafunc.parametrize("cloud_platform", chosen, indirect=True, ids=chosen)
        else:
            reason = (f"restricted to {', '.join(marker.args)} by its cloud_platforms marker, and none is configured "
                      f"({', '.join(configured)}; --cloud-platform)") if marker else "no platform configured"
            metafunc.parametrize("cloud_platform", [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                                 indirect=True, ids=["no-platform"])

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        if self.run.ready or config.getoption("collectonly") or not any(uses_the_cloud(item) for item in items):
            return
        prepare_or_exit(self.run)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Count the run's statistical checks (the m of ``--cloud-alpha``) once the items are final
        (after -k, -m, deselection); each xdist worker counts the same collection."""
        self.run.budget.planned = statistical_checks(session.items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        stats = self.run.stats
        stats.current_test = item.nodeid
        try:
            return (yield)
        finally:
            stats.current_test = ""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Failures, skip and xfail reasons and captured output pass through the redaction choke point
        before anyone sees them (terminal, junit XML, xdist's controller), keeping pytest's report types."""
        report = yield
        redact_report(report)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector
                                   ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        redact_report(report)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage, when: str, nodeid: str,
                                location: Any) -> None:
        redact_warning(warning_message)

    @pytest.hookimpl(tryfirst=True)
    def pytest_internalerror(self, excrepr: Any, excinfo: Any) -> None:
        redact_exception_repr(excrepr)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        run = self.run
        if self.is_worker:
            self.config.workeroutput["cloudjob_jobs"] = run.stats.to_data()  # type: ignore[attr-defined]
            self.config.workeroutput["cloudjob_checks"] = run.budget.to_data()  # type: ignore[attr-defined]
            return
        if not run.ready:
            return
        sweep(run)
        report_to_junit(self.config, run_level_failures(run))  # before pytest's junit writer closes its file
        if run_failures(run) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if not self.is_worker and self.run.ready:
            write_summary(terminalreporter, self.run)


# -- fixtures ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cloud_run(pytestconfig: pytest.Config) -> CloudRun:
    """This run's target, run id and statistics (started and checked on first use)."""
    run = pytestconfig.stash[RUN]
    prepare_or_exit(run)
    return run


@pytest.fixture(scope="session")
def cloud_context(cloud_run: CloudRun) -> CloudContext:
    """The session's :class:`CloudContext` for the target; its calls feed the run's statistics (the run
    closes it at the end)."""
    return cloud_run.shared_context()


@pytest.fixture(scope="session")
def cloud_user(cloud_run: CloudRun) -> User:
    """The regular user (``CLOUDJOB_TOKEN``)."""
    user = cloud_run.user("user")
    assert user is not None
    return user


@pytest.fixture(scope="session")
def cloud_other_user(cloud_run: CloudRun) -> User:
    """A second regular user, for isolation checks; skips when ``CLOUDJOB_OTHER_TOKEN`` is not set."""
    return cloud_run.user_or_skip("other", "second regular user")


@pytest.fixture(scope="session")
def cloud_admin(cloud_run: CloudRun) -> User:
    """The admin user; skips when ``CLOUDJOB_ADMIN_TOKEN`` is not set."""
    return cloud_run.user_or_skip("admin", "admin user")


@pytest.fixture
def cloud_platform(request: pytest.FixtureRequest) -> str:
    """The platform of the current test: it runs once per configured platform (``test_x[sim:qa]``)."""
    return getattr(request, "param", None) or request.config.stash[RUN].settings.platforms[0]


@pytest.fixture(scope="session")
def cloud_slow_platform(cloud_run: CloudRun) -> str:
    """A platform whose jobs run long enough to be cancelled while running (``--cloud-slow-platform``)."""
    if cloud_run.slow_platform_missing:
        pytest.skip(cloud_run.slow_platform_missing)
    return cloud_run.settings.slow_platform


@pytest.fixture
def cloud_job_factory(cloud_run: CloudRun, cloud_context: CloudContext, cloud_user: User,
                      cloud_platform: str) -> Iterator[JobFactory]:
    """Builds ``Job``s on the current platform (``qa_job``, the run id as ``process_id``) and, at teardown,
    cancels every job it built that has not ended."""
    factory = JobFactory(cloud_context, cloud_user, cloud_run.user("admin"), platform_name=cloud_platform,
                         pcvl_version=cloud_run.settings.pcvl_version, process_id=cloud_run.run_id)
    yield factory
    factory.cancel_active()
