"""``python -m pytest_cloudjob.server`` as users start it: loopback, free port, info file, tokens,
clean stops, and fault injection that the client's retries absorb."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import requests

from pytest_cloudjob import CloudApiError, CloudContext, Job, User
from pytest_cloudjob.api.client import RetryPolicy
from pytest_cloudjob.physics import wire
from pytest_cloudjob.server.process import CloudStartError, RunningCloud, start_reference_cloud


@pytest.fixture
def start(tmp_path):
    started: list[RunningCloud] = []

    def _start(*args: str):
        cloud = start_reference_cloud(tmp_path / f"cloud{len(started)}.log", list(args))
        started.append(cloud)
        return cloud

    yield _start
    for cloud in started:
        cloud.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_binds_loopback_on_a_free_port_and_stops_cleanly_on_signals(start, signum):
    cloud = start()
    assert cloud.url.startswith("http://127.0.0.1:") and not cloud.url.endswith(":0")
    assert requests.get(cloud.url + "/health", timeout=5).json()["status"] == "ok"
    cloud.process.send_signal(signum)
    assert cloud.process.wait(10) == 0


def test_tokens_are_random_at_each_start(start):
    a, b = start(), start()
    assert set(a.tokens) == {"user", "other", "admin"}
    assert len(set(a.tokens.values()) | set(b.tokens.values())) == 6


def test_tokens_can_be_given_by_option_and_environment(start, monkeypatch):
    monkeypatch.setenv("CLOUDJOB_REF_ADMIN_TOKEN", "admin-from-env")
    cloud = start("--user-token", "user-from-option", "--other-token", "other-from-option")
    assert cloud.tokens == {"user": "user-from-option", "other": "other-from-option", "admin": "admin-from-env"}
    ctx = CloudContext(cloud.url)
    assert Job.list_all(ctx, User("admin-from-env", is_admin=True)) == []


def test_a_server_that_cannot_start_says_why(tmp_path):
    with pytest.raises(CloudStartError, match="exited with code 2 before serving.*--drop-rate"):
        start_reference_cloud(tmp_path / "bad.log", ["--drop-rate", "3"])


def test_bad_run_time_option_is_refused():
    out = subprocess.run([sys.executable, "-m", "pytest_cloudjob.server", "--run-time", "sim:qa"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "expected PLATFORM=SECONDS" in out.stderr


def test_run_time_option_changes_how_long_jobs_run(start):
    cloud = start("--run-time", "sim:qa=1.5")
    ctx, user = CloudContext(cloud.url), User(cloud.tokens["user"])
    job = Job()
    job.create(ctx, user)
    job.wait_until(ctx, user, "running", timeout=5)
    assert job.get_status(ctx, user)["status"] == "running"
    job.wait_until(ctx, user, "completed", timeout=5)


def test_transient_503s_and_dropped_connections_are_absorbed_by_read_retries(start):
    cloud = start("--read-503-rate", "0.3", "--drop-rate", "0.2", "--latency", "0.01")
    ctx = CloudContext(cloud.url, retry=RetryPolicy(attempts=8, backoff=0.01))
    user = User(cloud.tokens["user"])
    job = Job()
    job.create(ctx, user)  # creates are not faulted: a lost create would make a duplicate job
    job.wait_until(ctx, user, "completed", timeout=20)
    # the default experiment (1 photon, filter 1) on an ideal platform: every one of the 1000 shots is a sample
    counts = wire.parse_results(json.loads(job.get_results(ctx, user)["results"])["results"])
    assert counts.is_counts and sum(counts.values.values()) == 1000


def test_without_retries_the_injected_faults_are_visible(start):
    cloud = start("--read-503-rate", "1")
    ctx = CloudContext(cloud.url, retry=RetryPolicy(attempts=2, backoff=0.01))
    user = User(cloud.tokens["user"])
    job = Job()
    job.create(ctx, user)
    with pytest.raises(CloudApiError, match="HTTP 503.*injected.*after 2 attempts"):
        job.get_status(ctx, user)


def test_max_finished_jobs_evicts_ended_jobs_only_and_keeps_the_latest(start):
    cloud = start("--max-finished-jobs", "4", "--run-time", "sim:qa=0.05", "--max-jobs-in-queue", "7")
    ctx, user = CloudContext(cloud.url), User(cloud.tokens["user"])
    active = [Job(platform_name="sim:slow") for _ in range(10)]  # more active jobs than the cap
    for job in active:
        job.create(ctx, user)
    ended = []
    for _ in range(12):
        job = Job()
        job.create(ctx, user)
        job.wait_until(ctx, user, "completed", timeout=10)
        assert job.get_results(ctx, user)["results"] is not None  # the job that just completed is still there
        ended.append(job)
    assert all(job.get_status(ctx, user)["status"] == "running" for job in active)
    for job in ended[-4:]:
        assert job.read(ctx, user)["status"] == "completed"
    with pytest.raises(CloudApiError, match="HTTP 404"):
        ended[0].read(ctx, user)
    assert requests.get(cloud.url + "/health", timeout=5).json()["evicted"] >= 7
    availability = requests.get(cloud.url + "/api/jobs/availability", timeout=5,
                                headers={"Authorization": f"Bearer {cloud.tokens['user']}"}).json()
    assert availability == {"max_jobs_in_queue": 7, "num_jobs_in_queue": 10}
    Job.cancel_many(ctx, active, User(cloud.tokens["admin"], is_admin=True))


@pytest.mark.parametrize("option", ["--max-finished-jobs", "--max-jobs-in-queue"])
def test_counts_below_one_are_refused(option):
    out = subprocess.run([sys.executable, "-m", "pytest_cloudjob.server", option, "0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and f"{option} must be at least 1" in out.stderr


def test_transient_faults_never_hit_one_path_three_times_in_a_row(start):
    """A client that tries a read four times always gets through, however long the run: a fault profile is
    transient, and the flaky-cloud acceptance run cannot be red by chance (nor redder on a busy machine)."""
    cloud = start("--read-503-rate", "0.9", "--drop-rate", "0.9")
    url = f"{cloud.url}/api/platforms/sim:qa/processor"
    headers = {"Authorization": f"Bearer {cloud.tokens['user']}"}
    in_a_row, longest, served = 0, 0, 0
    with requests.Session() as session:
        for _ in range(60):
            try:
                ok = session.get(url, headers=headers, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            in_a_row = 0 if ok else in_a_row + 1
            longest, served = max(longest, in_a_row), served + ok
    assert longest == 2 and served >= 15, (longest, served)
