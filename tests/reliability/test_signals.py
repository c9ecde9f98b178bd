"""A run that ends by a signal still cleans up: Ctrl-C (SIGINT) and SIGTERM (what CI runners send on cancel)
run the leak sweep, print the summary, stop the xdist workers and the embedded cloud, and exit with
pytest's interrupted code, 2. A SIGKILL cannot be handled: the run id printed at the start finds the jobs
it left, and nothing it wrote holds a token (issue 13, "Clean-up and exit status").

Each test starts ``python -m pytest`` as a CI runner does, waits until a job of the inner test is running,
signals, and bounds every wait.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from _support import (
    alive,
    artefacts,
    assert_nowhere,
    descendants,
    kill_all,
    run_id_in,
    spawn_pytest,
    wait_for_file,
)

from pytest_cloudjob import CloudContext, Job

START_TIMEOUT = 180.0  # reaching the point of the test: a hang guard only (a busy machine is slow to start runs)
END_TIMEOUT = 45.0
ENDED_OR_ENDING = ("canceled", "cancel_requested", "completed", "error")

RUNNING_JOB_TEST = """
    import os, pathlib, time
    from pytest_cloudjob import Job

    def test_waits_on_a_running_job(cloud_context, cloud_user, cloud_slow_platform):
        job = Job(platform_name=cloud_slow_platform)
        job.create(cloud_context, cloud_user)
        print("token of the test:", cloud_user.get_token())
        pathlib.Path(os.environ["JOB_MARKER"]).write_text(job.job_id)
        time.sleep(120)
"""


#: Every process a run under test started: killed after each test whatever its verdict (hygiene only, and
#: only after the test has looked at them, so an orphan is seen before it is cleaned up).
STARTED: set[int] = set()


@pytest.fixture(autouse=True)
def reap_what_the_run_started():
    yield
    kill_all(STARTED)
    STARTED.clear()


@pytest.fixture
def inner(pytester, monkeypatch):
    """The inner suite, and the marker file its test writes once its job runs."""
    pytester.makepyfile(RUNNING_JOB_TEST)
    marker = pytester.path / "job-created"
    monkeypatch.setenv("JOB_MARKER", str(marker))
    return marker


def interrupt(pytester, marker, how: int, *args: str, group: bool = False) -> tuple[int, str, set[int], float]:
    """Start the run, wait for its job, send ``how`` (to the whole process group with ``group``); returns
    the exit code, stdout+stderr, the processes the run had started, and the seconds from signal to exit."""
    process, out, err = spawn_pytest(pytester.path, *args, new_session=group)
    children: set[int] = set()
    try:
        wait_for_file(marker, process, START_TIMEOUT)
        children = descendants(process.pid)
        STARTED.update(children)
        sent = time.monotonic()
        if group:
            os.killpg(process.pid, how)
        else:
            process.send_signal(how)
        code = process.wait(END_TIMEOUT)
        took = time.monotonic() - sent
    except (subprocess.TimeoutExpired, AssertionError):
        process.kill()
        process.wait(10)
        kill_all(children | descendants(process.pid))
        raise
    return code, out.read_text() + err.read_text(), children, took


def assert_no_orphans(children: set[int]) -> None:
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(children), f"processes left running after the run: {sorted(alive(children))}"


def jobs_of(cloud, admin, run_id: str) -> list[Job]:
    return Job.list_all(CloudContext(cloud.url), admin, process_id=run_id)


def test_ctrl_c_with_allure_sweeps_every_job_prints_the_summary_and_exits_2(pytester, inner, reference_cloud, admin,
                                                                              against):
    code, output, children, took = interrupt(pytester, inner, signal.SIGINT, "--alluredir=allure-results",
                                             "--junitxml=junit.xml")
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert "KeyError" not in output and "INTERNALERROR" not in output
    assert "leak sweep: FAILED, 1 job(s) of this run were still active and were cancelled" in output
    assert [j.status in ENDED_OR_ENDING for j in jobs_of(reference_cloud, admin, run_id_in(output))] == [True]
    assert_nowhere(reference_cloud.tokens["user"], {"output": output, **artefacts(pytester.path)})
    assert_no_orphans(children)
    assert took < 30


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_sigterm_ends_the_run_as_ctrl_c_does(pytester, inner, reference_cloud, admin, against, xdist):
    code, output, children, took = interrupt(pytester, inner, signal.SIGTERM, "--junitxml=junit.xml", *xdist)
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert "----- cloudjob -----" in output.replace("-" * 10, "-----")  # the summary was printed
    assert "leak sweep: FAILED, 1 job(s) of this run were still active and were cancelled" in output
    assert [j.status in ENDED_OR_ENDING for j in jobs_of(reference_cloud, admin, run_id_in(output))] == [True]
    assert_nowhere(reference_cloud.tokens["user"], {"output": output, **artefacts(pytester.path)})
    assert_no_orphans(children)
    assert took < 30


@pytest.mark.parametrize("group", [False, True], ids=["to pytest", "to the process group"])
def test_sigterm_stops_the_workers_and_the_embedded_cloud(pytester, inner, group):
    """The embedded cloud and two workers: none survives the run, whoever received the signal."""
    code, output, children, _ = interrupt(pytester, inner, signal.SIGTERM, "-n", "2", group=group)
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert len(children) >= 3, f"expected two workers and the cloud, saw {children}"
    assert "run id: run-" in output and "leak sweep:" in output
    assert_no_orphans(children)


def test_a_killed_run_leaves_no_embedded_cloud_running(pytester, inner):
    """pytest killed by SIGKILL cannot stop its embedded cloud: the cloud notices its parent is gone and stops."""
    code, output, children, _ = interrupt(pytester, inner, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert children, "expected the embedded reference cloud among the run's processes"
    assert_no_orphans(children)


def test_a_killed_run_names_its_run_id_first_and_leaves_no_token_behind(pytester, inner, reference_cloud, admin,
                                                                        against):
    """SIGKILL (an OOM kill, a CI hard timeout) cannot be handled: the run id printed before the tests is
    how an admin finds what the run left, and what the run had written holds no token."""
    code, output, children, _ = interrupt(pytester, inner, signal.SIGKILL, "--debug=debug.log",
                                          "--junitxml=junit.xml")
    assert code == -signal.SIGKILL
    run_id = run_id_in(output)
    assert "cloudjob: run id: " + run_id in output
    left = jobs_of(reference_cloud, admin, run_id)
    assert [j.status for j in left] == ["running"]  # what a killed run leaves: found by its run id
    Job.cancel_many(CloudContext(reference_cloud.url), left, admin)
    assert_nowhere(reference_cloud.tokens["user"], {"output": output, **artefacts(pytester.path)})
    assert_nowhere(reference_cloud.tokens["admin"], {"output": output, **artefacts(pytester.path)})
