"""The end-of-run leak sweep against clouds that misbehave (a scripted cloud on loopback): a listing of
hostile records, a listing that fails, a cloud that dies mid-sweep, a cancel-many that fails, a worker
that crashes with a job running. A sweep that could not complete fails the run with one line naming why;
one failed cancel never stops the others (issue 13, "Clean-up and exit status")."""
from __future__ import annotations

import threading
import time

import pytest
from _support import FakeCloud, artefacts, assert_nowhere, run_id_in

from pytest_cloudjob import CloudContext, Job
from pytest_cloudjob.run.settings import CloudSettings
from pytest_cloudjob.run.sweep import sweep
from pytest_cloudjob.run.target import CloudRun

RUN_TIMEOUT = 60
TOKEN = "fake-cloud-user-token-0123456789"
ADMIN_TOKEN = "fake-cloud-admin-token-0123456789"
PASSING_TEST = "def test_uses_the_cloud(cloud_user): pass"


@pytest.fixture
def fake_cloud(monkeypatch):
    cloud = FakeCloud().start()
    monkeypatch.setenv("CLOUDJOB_URL", cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", ADMIN_TOKEN)
    yield cloud
    cloud.die()


def sweep_listing(cloud: FakeCloud, records: list[object]) -> None:
    """The preflight's listing is empty; the sweep's (the second) answers ``records``."""
    cloud.listing = lambda: (200, [] if cloud.listings == 1 else records)


def run(pytester, *args: str):
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest("--junitxml=junit.xml", *args)
    texts = {"stdout": result.stdout.str(), "stderr": result.stderr.str(), **artefacts(pytester.path)}
    assert_nowhere(TOKEN, texts)
    assert_nowhere(ADMIN_TOKEN, texts)
    return result


def test_hostile_records_are_read_safely_and_every_active_job_is_cancelled(pytester, fake_cloud):
    sweep_listing(fake_cloud, [
        {"id": "j-self", "status": "running", "platform_name": "sim:qa", "self": 1, "__class__": "x"},
        {"job_id": "j-frozen", "status": "frozen", "platform_name": "sim:qa"},
        {"job_id": "j-done", "status": "completed", "platform_name": "sim:qa", "__init__": None},
        {"job_id": "j-other-run", "status": "running", "process_id": "someone-else"},
        "not a record", {"status": "running"},
    ])
    fake_cloud.cancel_many = lambda ids: (500, {"detail": "cancel-many is down"})
    fake_cloud.cancel = lambda job_id: (500, {"detail": "no"}) if job_id == "j-self" else (200, {})
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1)
    # cancel-many failed: each active job got its own cancel, the one that failed did not stop the other
    assert sorted(fake_cloud.cancelled()) == ["j-frozen", "j-self"]
    result.stdout.fnmatch_lines([
        "sim:qa * 3 * 1 * 0 * 1 * 1 *",  # created completed failed canceled unended: they add up
        "unknown status 'frozen' listed for job j-frozen (sim:qa): counted as possibly active",
        "leak sweep: FAILED, 2 job(s) of this run were still active (1 could NOT be cancelled):",
        "*j-self (sim:qa, running) made by an unknown test*, NOT cancelled: HTTP 500",
        "*j-frozen (sim:qa, frozen) made by an unknown test*",
        "leak sweep: FAILED, the leak sweep could not complete: 2 listing record(s) without a job id could not be "
        "checked; 1 active job(s) could not be cancelled (j-self: HTTP 500)",
    ])


def test_a_listing_that_fails_fails_the_run_with_one_line(pytester, fake_cloud):
    fake_cloud.listing = lambda: (200, []) if fake_cloud.listings == 1 else (500, {"detail": "database down"})
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["leak sweep: FAILED, the leak sweep could not complete: GET /api/admin/jobs*"
                                 "HTTP 500*database down*"])
    assert "0 leaked" not in result.stdout.str()


def test_a_cloud_that_dies_mid_sweep_fails_the_run_naming_why(pytester, fake_cloud):
    def listing_then_die() -> tuple[int, object]:
        if fake_cloud.listings == 1:
            return 200, []
        threading.Thread(target=fake_cloud.die, daemon=True).start()  # this answer goes out, nothing after it
        return 200, [{"job_id": "j-1", "status": "running", "platform_name": "sim:qa"}]

    fake_cloud.listing = listing_then_die
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["leak sweep: FAILED, 1 job(s) of this run were still active (1 could NOT be cancelled):",
                                 "leak sweep: FAILED, the leak sweep could not complete: 1 active job(s) could not be "
                                 "cancelled (j-1: *)"])
    assert result.duration < 30


def test_no_admin_token_with_a_url_stops_the_run_unless_the_sweep_is_declined(pytester, fake_cloud, monkeypatch):
    """Issue 15: a run that cannot check for leaks is not green by default."""
    monkeypatch.delenv("CLOUDJOB_ADMIN_TOKEN")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*no admin token: the end-of-run leak sweep could not list this run's jobs*"
                                 "set CLOUDJOB_ADMIN_TOKEN*--cloud-no-sweep*"])
    assert "passed" not in result.stdout.str()
    for opt_out in (["--cloud-no-sweep"], ["-o", "cloud_no_sweep=true"]):
        declined = run(pytester, *opt_out)
        assert declined.ret == pytest.ExitCode.OK
        declined.stdout.fnmatch_lines(["leak sweep: no admin token, skipped by choice (--cloud-no-sweep)*"])
    monkeypatch.setenv("CLOUDJOB_NO_SWEEP", "1")
    assert run(pytester).ret == pytest.ExitCode.OK
    assert fake_cloud.listings == 0


def test_a_crashed_workers_job_is_still_swept_and_counted(pytester, reference_cloud, admin, against):
    """The worker's statistics die with it; the run id finds its job, the summary counts it."""
    pytester.makepyfile("""
        import os
        from pytest_cloudjob import Job

        def test_crashes_its_worker(cloud_context, cloud_user, cloud_slow_platform):
            Job(platform_name=cloud_slow_platform).create(cloud_context, cloud_user)
            os._exit(3)
    """)
    result = pytester.runpytest_subprocess("-n", "2", timeout=RUN_TIMEOUT)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["sim:slow * 1 * 0 * 0 * 1 * 0 *",
                                 "leak sweep: FAILED, 1 job(s) of this run were still active and were cancelled:",
                                 "*(sim:slow, running) made by an unknown test (its worker's records were lost)"])
    jobs = Job.list_all(CloudContext(reference_cloud.url), admin, process_id=run_id_in(result.stdout.str()))
    assert [j.status in ("cancel_requested", "canceled") for j in jobs] == [True]


def test_a_silent_cloud_cannot_hold_the_sweep_past_its_deadline():
    """A CI runner that sent SIGTERM waits only so long: the sweep ends by its deadline, with a verdict."""
    release = threading.Event()
    cloud = FakeCloud(listing=lambda: (release.wait(30), (200, []))[1]).start()
    settings = CloudSettings(url=cloud.url, platforms=("sim:qa",), slow_platform="sim:slow", timeout=60.0,
                             pcvl_version="0.12.0", tokens={"user": TOKEN, "admin": ADMIN_TOKEN})
    run = CloudRun(settings, "run-silent", cloud.url, {"user": TOKEN, "admin": ADMIN_TOKEN}, ready=True)
    started = time.monotonic()
    try:
        sweep(run, deadline=2.0)
    finally:
        took = time.monotonic() - started
        release.set()
        cloud.die()
    assert took < 3.5
    assert run.sweep_error.startswith("the leak sweep could not complete: GET /api/admin/jobs"), run.sweep_error
    assert run.leaks == [] and run.swept is None
