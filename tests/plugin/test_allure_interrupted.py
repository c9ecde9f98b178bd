"""Ctrl-C inside a test with --alluredir: the sweep still cancels the test's job. (The sweep's own calls
used to be attached to the test allure had dropped: allure_commons' ``KeyError: None`` killed the sweep.)"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from pytest_cloudjob import CloudContext, Job, User
from pytest_cloudjob.protocol import ACTIVE_STATUSES
from pytest_cloudjob.server.process import start_reference_cloud

TOKENS = {"user": "tok-interrupt-user-77aa", "admin": "tok-interrupt-admin-88bb"}

INTERRUPTED_TEST = """
import os
import pathlib
import time

from pytest_cloudjob import Job


def test_interrupted_while_its_job_runs(cloud_context, cloud_user):
    Job(platform_name="sim:slow").create(cloud_context, cloud_user)
    pathlib.Path(os.environ["INTERRUPT_MARKER"]).write_text("the job runs")
    time.sleep(60)
"""


@pytest.fixture
def cloud(tmp_path_factory, monkeypatch):
    cloud = start_reference_cloud(tmp_path_factory.mktemp("cloud") / "cloud.log",
                                  [f"--{name}-token={token}" for name, token in TOKENS.items()])
    monkeypatch.setenv("CLOUDJOB_URL", cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", TOKENS["user"])
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", TOKENS["admin"])
    yield cloud
    cloud.stop()


def test_ctrl_c_inside_a_test_still_sweeps_its_job(pytester, cloud, monkeypatch):
    marker = pytester.path / "running.marker"
    monkeypatch.setenv("INTERRUPT_MARKER", str(marker))
    pytester.makepyfile(test_interrupted=INTERRUPTED_TEST)
    process = pytester.popen([sys.executable, "-m", "pytest", "--alluredir", "allure-results", "-p", "no:cacheprovider"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell's Ctrl-C
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the test never started: {process.poll()=}"
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyError" not in output and "INTERNALERROR" not in output, output
    assert "1 job(s) of this run were still active and were cancelled" in output, output
    jobs = Job.list_all(CloudContext(cloud.url), User(token=TOKENS["admin"], is_admin=True))
    assert jobs and not [job for job in jobs if getattr(job, "status", None) in ACTIVE_STATUSES]
