"""The pytest plugin: options, fixtures, per-platform parametrization, xdist wiring, the leak sweep
and the terminal summary. Everything with a job of its own lives in its own module; this one glues."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_cloudjob import protocol
from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import Job, User
from pytest_cloudjob.api.cloud_objects.cloud_job import set_default_process_id
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.job_factory import JobFactory
from pytest_cloudjob.redaction import install_log_redaction, redact
from pytest_cloudjob.scenarios.collect import DEFAULT_PATTERNS, ScenarioFile, matches
from pytest_cloudjob.settings import add_options, resolve
from pytest_cloudjob.summary import write_summary
from pytest_cloudjob.target import CloudRun, TargetError

RUN = pytest.StashKey[CloudRun]()
LOG_REDACTION = pytest.StashKey[Callable[[], None]]()
_CONFIG: dict[str, pytest.Config] = {}
CLOUD_FIXTURES = frozenset({"cloud_run", "cloud_context", "cloud_user", "cloud_other_user", "cloud_admin",
                            "cloud_platform", "cloud_job_factory", "cloud_slow_platform"})
LEAKING_STATUSES = frozenset({protocol.WAITING, protocol.RUNNING, protocol.SUSPENDED})


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    parser.addini("cloud_scenario_patterns", "glob patterns of scenario files (default *.scenario.yaml "
                  "*.scenario.yml)", type="args", default=list(DEFAULT_PATTERNS))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if matches(file_path, parent.config.getini("cloud_scenario_patterns")):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A broken scenario file is a collection error that names file and line, and the other files still
    run (under xdist the controller sees the workers' reports here)."""
    if report.failed and report.nodeid.endswith((".yaml", ".yml")) and _CONFIG:
        _CONFIG["config"].option.continue_on_collection_errors = True


def _is_xdist_controller(config: pytest.Config) -> bool:
    return (config.pluginmanager.hasplugin("xdist") and bool(getattr(config.option, "numprocesses", None))
            and not hasattr(config, "workerinput"))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cloud_platforms(*names): run this test only on these platforms")
    settings = resolve(config)
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and "cloudjob" in worker_input:
        run = CloudRun.for_worker(settings, worker_input["cloudjob"])
    else:
        run = CloudRun(settings, run_id=f"run-{uuid.uuid4()}")
        if _is_xdist_controller(config):
            # Workers collect, the controller does not: start the one cloud of the run now.
            try:
                run.prepare()
            except TargetError as exc:
                run.stop()
                raise pytest.UsageError(str(exc)) from None
    set_default_process_id(run.run_id)
    config.stash[RUN] = run
    _CONFIG["config"] = config
    config.stash[LOG_REDACTION] = install_log_redaction()
    report_dir = getattr(config.option, "allure_report_dir", None)
    if report_dir:
        from pytest_cloudjob.reporting.allure_plugin import AllureCloudPlugin

        config.pluginmanager.register(AllureCloudPlugin(config, run, Path(report_dir).resolve(), uses_the_cloud),
                                      "cloudjob-allure")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["cloudjob"] = node.config.stash[RUN].worker_info()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    data = getattr(node, "workeroutput", {}).get("cloudjob_jobs")
    if data:
        node.config.stash[RUN].stats.merge(data)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cloud_platform" not in metafunc.fixturenames:
        return
    configured = metafunc.config.stash[RUN].settings.platforms
    marker = metafunc.definition.get_closest_marker("cloud_platforms")
    chosen = [p for p in configured if marker is None or p in marker.args]
    if chosen:
        metafunc.parametrize("cloud_platform", chosen, indirect=True, ids=chosen)
    else:
        reason = (f"restricted to {', '.join(marker.args)} by its cloud_platforms marker, and none is configured "
                  f"({', '.join(configured)}; --cloud-platform)") if marker else "no platform configured"
        metafunc.parametrize("cloud_platform", [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                             indirect=True, ids=["no-platform"])


def uses_the_cloud(item: pytest.Item) -> bool:
    return bool(CLOUD_FIXTURES.intersection(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash[RUN]
    if run.ready or not any(uses_the_cloud(item) for item in items):
        return
    if config.getoption("collectonly"):
        return
    try:
        run.prepare()
    except TargetError as exc:
        run.stop()
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    stats = item.config.stash[RUN].stats
    stats.current_test = item.nodeid
    try:
        return (yield)
    finally:
        stats.current_test = ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Failures and captured output pass through the redaction choke point before anyone sees them."""
    report: pytest.TestReport = yield
    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]
    return report


# -- fixtures ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cloud_run(pytestconfig: pytest.Config) -> CloudRun:
    """This run's target, run id and statistics (started and checked on first use)."""
    run = pytestconfig.stash[RUN]
    try:
        run.prepare()
    except TargetError as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
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


def _configured_user(run: CloudRun, name: str, what: str, env: str) -> User:
    user = run.user(name)
    if user is None:
        pytest.skip(f"no {what}: set {env} (or '{name}' in --cloud-token-file)")
    return user


@pytest.fixture(scope="session")
def cloud_other_user(cloud_run: CloudRun) -> User:
    """A second regular user, for isolation checks; skips when ``CLOUDJOB_OTHER_TOKEN`` is not set."""
    return _configured_user(cloud_run, "other", "second regular user", "CLOUDJOB_OTHER_TOKEN")


@pytest.fixture(scope="session")
def cloud_admin(cloud_run: CloudRun) -> User:
    """The admin user; skips when ``CLOUDJOB_ADMIN_TOKEN`` is not set."""
    return _configured_user(cloud_run, "admin", "admin user", "CLOUDJOB_ADMIN_TOKEN")


@pytest.fixture
def cloud_platform(request: pytest.FixtureRequest) -> str:
    """The platform of the current test: it runs once per configured platform (``test_x[sim:qa]``)."""
    return getattr(request, "param", None) or request.config.stash[RUN].settings.platforms[0]


@pytest.fixture(scope="session")
def cloud_slow_platform(cloud_run: CloudRun) -> str:
    """A platform whose jobs run long enough to be cancelled while running (``--cloud-slow-platform``)."""
    return cloud_run.settings.slow_platform


@pytest.fixture
def cloud_job_factory(cloud_run: CloudRun, cloud_context: CloudContext, cloud_user: User,
                      cloud_platform: str) -> Iterator[JobFactory]:
    """Builds ``Job``s on the current platform (``qa_job``, the run id as ``process_id``) and, at teardown,
    cancels every job it built that has not ended."""
    factory = JobFactory(cloud_context, cloud_user, cloud_run.user("admin"), platform_name=cloud_platform,
                         pcvl_version=cloud_run.settings.pcvl_version, process_id=cloud_run.run_id,
                         timeout=cloud_run.settings.timeout)
    yield factory
    factory.cancel_active()


# -- the end of the run -----------------------------------------------------------------------------------------

def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    run = config.stash.get(RUN, None)
    if run is None:
        return
    if hasattr(config, "workerinput"):
        config.workeroutput["cloudjob_jobs"] = run.stats.to_data()  # type: ignore[attr-defined]
        return
    if not run.ready:
        return
    sweep(run)
    if run.leaks and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def sweep(run: CloudRun) -> None:
    """List this run's jobs as admin and cancel those still active: each one is a leak, a failure."""
    admin = run.user("admin")
    if admin is None:
        run.sweep_error = "no admin token: the run's jobs could not be listed (set CLOUDJOB_ADMIN_TOKEN)"
        return
    context = run.context()
    try:
        jobs = Job.list_all(context, admin, process_id=run.run_id)
        active = [job for job in jobs if getattr(job, "status", None) in LEAKING_STATUSES]
        run.swept = len(jobs)
        run.leaks = [(job.job_id, job.platform_name, str(job.status), run.stats.test_of(job.job_id))
                     for job in active]
        if active:
            Job.cancel_many(context, active, admin)
    except (CloudApiError, AssertionError) as exc:
        run.sweep_error = redact(f"the leak sweep failed: {exc}")
    finally:
        context.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None or hasattr(config, "workerinput") or not run.ready:
        return
    write_summary(terminalreporter, run)


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall = config.stash.get(LOG_REDACTION, None)
    if uninstall is not None:
        uninstall()
    run = config.stash.get(RUN, None)
    if run is not None and not hasattr(config, "workerinput"):
        run.stop()
