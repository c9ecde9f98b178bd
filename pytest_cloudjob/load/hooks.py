"""The Locust event listeners of a load run: its command-line options, its start (the mix checked, the
host shown redacted), the tally's trip from workers to master, and its end (leak sweep, thresholds,
summary, Allure result, exit code). Registered once, on import."""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.html import get_html_report
from locust.runners import MasterRunner, WorkerRunner

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.load import report, thresholds
from pytest_cloudjob.load.cloud import RUN_ID_ENV, URL_ENV, embedded, stop_embedded
from pytest_cloudjob.load.sweep import sweep_run
from pytest_cloudjob.load.tally import REPORT_KEY
from pytest_cloudjob.load.users import LoadRun, ScenarioUser
from pytest_cloudjob.redaction import redact
from pytest_cloudjob.run.settings import SETTINGS

#: Seconds a user may take to finish the scenario it is running when the run stops: a scenario cut
#: halfway is no verdict, and its jobs would be left to the sweep.
DEFAULT_STOP_TIMEOUT = 30.0
logger = logging.getLogger("pytest_cloudjob.load")
# The options the load run shares with a pytest run take their names and defaults from the one table.
PLATFORMS, SLOW, PCVL, TIMEOUT = (SETTINGS[key] for key in ("platforms", "slow_platform", "pcvl_version", "timeout"))
_fired = [0]  # request events this process fired


def add_options(parser: Any, **_: Any) -> None:
    parser.add_argument("--cloud-scenarios", action="append", default=None, metavar="PATH",
                       help="scenario file or folder (repeatable); default scenarios")
    parser.add_argument("--cloud-mark", default="", metavar="EXPR", help="pytest -m expression over the scenarios' marks")
    parser.add_argument(PLATFORMS.option, action="append", default=None, metavar="NAME",
                       help="platform to run each scenario on (repeatable); "
                            f"default {PLATFORMS.env} or {','.join(PLATFORMS.default)}")
    parser.add_argument(SLOW.option, default=os.environ.get(SLOW.env, SLOW.default))
    parser.add_argument(PCVL.option, default=os.environ.get(PCVL.env, PCVL.default))
    parser.add_argument(TIMEOUT.option, type=float, default=TIMEOUT.default,
                        help=f"a wait's deadline, seconds; default {TIMEOUT.default:g}")
    parser.add_argument("--cloud-weight", action="append", default=None, metavar="KEY=N",
                       help="weight of a mark or a scenario name (repeatable); default 1")
    parser.add_argument("--cloud-weights", default=None, metavar="FILE", help="YAML mapping of mark or name to weight")
    parser.add_argument(SETTINGS["url"].option, default=os.environ.get(URL_ENV, ""), include_in_web_ui=False,
                       help="the cloud's URL; default CLOUDJOB_URL, else the embedded reference cloud")
    parser.add_argument("--cloud-run-id", default=os.environ.get(RUN_ID_ENV, ""), include_in_web_ui=False,
                       help="the process_id of every job (the master's goes to its workers)")
    parser.add_argument(SETTINGS["no_sweep"].option, action="store_true", default=False, help="no leak sweep at the end")
    parser.add_argument("--max-error-rate", type=float, default=0.0, metavar="RATIO",
                       help="fail the run above this ratio of failures to requests; default 0")
    parser.add_argument("--max-p95", action="append", default=None, metavar="CALL=DURATION",
                       help="fail the run if a call's p95 exceeds DURATION (or DURATION for every call); repeatable")
    parser.add_argument("--min-jobs-per-minute", type=float, default=0.0, metavar="N",
                       help="fail the run if fewer jobs are created per minute")
    parser.add_argument("--alluredir", default=None, metavar="DIR", help="write the run as an Allure result there")


def on_init(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        _finish(environment.runner)
        return  # its options come from the master with the first spawn
    try:
        options: Any = environment.parsed_options
        run = ScenarioUser.current_run(environment)
        thresholds.parse_p95(options.max_p95 or [])
        if "admin" not in run.tokens and not options.cloud_no_sweep:
            raise CloudJobError("no admin token: the end-of-run leak sweep could not list this run's jobs; set "
                                "CLOUDJOB_ADMIN_TOKEN, or accept a run without it with --cloud-no-sweep")
    except CloudJobError as exc:
        sys.stderr.write(f"pytest-cloudjob load: {redact(str(exc))}\n")
        sys.exit(2)
    environment.host = redact(run.url)
    if isinstance(environment.runner, MasterRunner):
        _stop_workers_before_quitting(environment.runner)
    if not environment.stop_timeout:
        environment.stop_timeout = DEFAULT_STOP_TIMEOUT
    for reason in run.left_out:
        logger.warning("left out: %s", redact(reason))
    logger.info("pytest-cloudjob load run %s: %d scenario x platform choices", run.run_id, len(run.choices))
    run.started = time.time()


FINISH, FINISHED = "pytest_cloudjob_finish", "pytest_cloudjob_finished"


def _stop_workers_before_quitting(runner: MasterRunner) -> None:
    """Make the master's quit (what ``--run-time`` calls) first have every worker finish its users'
    scenarios, and wait for them: a headless master's quit only tells the workers to quit and waits half
    a second, so its leak sweep would count the jobs of scenarios still finishing as leaks (and Locust's
    own stop makes each worker sleep ``--stop-timeout`` again before it can quit)."""
    quit_now = runner.quit
    finished: set[str] = set()

    def on_finished(msg: Any, **_: Any) -> None:
        finished.add(msg.node_id)
    runner.register_message(FINISHED, on_finished)

    def finish_then_quit() -> None:
        workers = {client.id for client in runner.clients.all}
        for worker in workers:
            runner.send_message(FINISH, None, worker)
        deadline = time.monotonic() + (runner.environment.stop_timeout or 0) + 60
        while not workers <= finished | {c.id for c in runner.clients.missing} and time.monotonic() < deadline:
            gevent.sleep(0.2)
        quit_now()
    setattr(runner, "quit", finish_then_quit)  # noqa: B010  (this run's master only)


def _finish(runner: WorkerRunner) -> None:
    def on_finish(**_: Any) -> None:
        runner.stop()  # each user ends the scenario it is running (--stop-timeout)
        runner._send_stats()  # what they did, before the master sweeps
        runner.send_message(FINISHED, None)
    runner.register_message(FINISH, on_finish, concurrent=True)


def on_report_to_master(data: dict[str, Any], **_: Any) -> None:
    if ScenarioUser.load_run is not None:
        data[REPORT_KEY] = ScenarioUser.load_run.tally.take()


def on_worker_report(data: dict[str, Any], **_: Any) -> None:
    if ScenarioUser.load_run is not None and REPORT_KEY in data:
        ScenarioUser.load_run.tally.merge(data[REPORT_KEY])


def on_request(**_: Any) -> None:
    _fired[0] += 1


def on_quitting(environment: Environment, **_: Any) -> None:
    """Sweep, judge, report and set the exit code, once, where the run's totals are (master or local)."""
    run = ScenarioUser.load_run
    if isinstance(environment.runner, WorkerRunner):
        # Its own count, apart from what the master received: a check that the master's totals add up.
        sys.stderr.write(f"pytest-cloudjob load worker: {_fired[0]} request events fired\n")
        return
    if run is None or environment.runner is None:
        return
    options: Any = environment.parsed_options
    leaks, note = sweep(run, options)
    stats = environment.runner.stats
    seconds = max(stats.total.last_request_timestamp or time.time(), stats.start_time) - stats.start_time
    checks = thresholds.evaluate(stats, options, run.tally.total("created"), seconds / 60, len(leaks), note)
    if not isinstance(environment.runner, MasterRunner) and not stats.total.num_requests:
        checks.append(thresholds.Check("requests were made", False, "none"))
    text = report.summary(stats, run.tally, leaks, checks, run.run_id, redact(run.url), seconds)
    sys.stderr.write(text + "\n")
    if options.alluredir:
        html = _read(options.html_file) if getattr(options, "html_file", None) else None
        if html is None:
            html = get_html_report(environment, show_download_link=False)  # type: ignore[no-untyped-call]
        parameters = {"scenarios": " ".join(options.cloud_scenarios or ["scenarios"]), "mark": options.cloud_mark,
                      "users": str(options.num_users), "run id": run.run_id}
        report.write_allure(options.alluredir, text, checks, run.started, html, parameters)
    if not all(check.ok for check in checks):
        environment.process_exit_code = 1


def on_quit(**_: Any) -> None:
    """Stop the embedded cloud before Locust closes its CSV files (stopping it waits, and a waiting
    process lets Locust's CSV writer run once more)."""
    stop_embedded()


def sweep(run: LoadRun, options: Any) -> tuple[list[tuple[str, str, str, str]], str]:
    """The leak sweep on every job tagged with the run id: (leaks, why it could not complete)."""
    if options.cloud_no_sweep:
        return [], ""
    cloud = embedded()
    if cloud is not None and cloud.process.poll() is not None:
        return [], f"the embedded reference cloud had already stopped (exit code {cloud.process.returncode})"
    result = sweep_run(run.url, run.tokens["admin"], run.run_id)
    return [(job.job_id, job.platform, job.status, "") for job in result.leaks], result.error


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


events.init_command_line_parser.add_listener(add_options)  # type: ignore[no-untyped-call]
events.init.add_listener(on_init)  # type: ignore[no-untyped-call]
events.report_to_master.add_listener(on_report_to_master)  # type: ignore[no-untyped-call]
events.worker_report.add_listener(on_worker_report)  # type: ignore[no-untyped-call]
events.quitting.add_listener(on_quitting)  # type: ignore[no-untyped-call]
events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
events.quit.add_listener(on_quit)  # type: ignore[no-untyped-call]
