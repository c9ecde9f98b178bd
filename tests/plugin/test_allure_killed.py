"""A run killed mid-test (SIGKILL: an OOM kill, a CI hard timeout) leaves no token in the Allure results
folder: every result, container and attachment is redacted as it is written, not by a final pass that a
killed run never reaches."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pytest_cloudjob.server.process import start_reference_cloud

TOKEN = "tok-killed-5e0c7d21ab"
ADMIN_TOKEN = "tok-killed-admin-9d3e"

KILLED_TESTS = """
import os
import pathlib
import time

import allure


def test_first_fails_with_the_token_in_its_message_and_output(cloud_user):
    token = cloud_user.get_token()
    print("stdout has", token)
    assert token == "something else", f"the message has {token}"


def test_second_is_killed_while_running(cloud_user, tmp_path):
    token = cloud_user.get_token()
    allure.attach(f"attached {token} and Bearer {token}", name=f"note about {token}")
    evidence = tmp_path / "evidence.txt"
    evidence.write_text(f"a file that has {token}")
    allure.attach.file(str(evidence), name="evidence")
    with allure.step(f"a step about {token}"):
        pathlib.Path(os.environ["KILL_MARKER"]).write_text("inside the test")
        time.sleep(60)
"""


@pytest.fixture
def cloud_url(tmp_path_factory, monkeypatch):
    cloud = start_reference_cloud(tmp_path_factory.mktemp("cloud") / "cloud.log",
                                  [f"--user-token={TOKEN}", f"--admin-token={ADMIN_TOKEN}"])
    monkeypatch.setenv("CLOUDJOB_URL", cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", ADMIN_TOKEN)
    yield cloud.url
    cloud.stop()


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one process", "xdist workers"])
def test_a_run_killed_inside_a_test_leaves_no_token_in_the_results_folder(pytester, cloud_url, monkeypatch, xdist):
    marker = pytester.path / "inside.marker"
    monkeypatch.setenv("KILL_MARKER", str(marker))
    pytester.makepyfile(test_killed=KILLED_TESTS)
    results = pytester.path / "allure-results"
    command = [sys.executable, "-m", "pytest", *xdist, "--alluredir", "allure-results", "-p", "no:cacheprovider"]
    process = pytester.popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)  # its own process group: the kill takes the workers too
    try:
        # Kill once the second test sleeps and the first one's result is written (under xdist, by another worker).
        deadline = time.monotonic() + 30
        while not (marker.exists() and any(results.glob("*-result.json"))) and process.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the test never started: {process.poll()=}"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate(timeout=10)[0].decode(errors="replace")
    assert process.returncode == -signal.SIGKILL

    files = [p for p in results.rglob("*") if p.is_file()]
    texts = {p.name: p.read_bytes().decode(errors="replace") for p in files}
    # What was written before the kill is there, masked: the first test's result, its captured stdout,
    # and the second test's attachments (written when attached, while the test still ran).
    assert any("the message has ***" in t and '"status": "failed"' in t for t in texts.values()), sorted(texts)
    assert any(t.startswith("stdout has ***") or "stdout has ***" in t for t in texts.values())
    assert "attached *** and Bearer ***" in texts.values()
    assert "a file that has ***" in texts.values()
    for name, text in texts.items():
        assert TOKEN not in text, f"the token in {name}"
        assert TOKEN not in name
    assert TOKEN not in output
