"""Seconds from a signal to the end of a run: a one-test suite whose job runs on ``sim:slow`` (the
embedded reference cloud) is interrupted once its job runs; each case is timed ``--trials`` times.

    python benchmarks/signals.py --trials 2

Prints one line per trial: options, signal, exit code, seconds, whether the leak line was printed.
Bounded: each run must start its job within 60 s and end within 60 s of the signal.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = """
import os, pathlib, time
from pytest_cloudjob import Job

def test_waits(cloud_context, cloud_user, cloud_slow_platform):
    Job(platform_name=cloud_slow_platform).create(cloud_context, cloud_user)
    pathlib.Path("marker").write_text("x")
    time.sleep(120)
"""
CASES = [([], signal.SIGINT), ([], signal.SIGTERM), (["-n", "2"], signal.SIGTERM),
         (["-n", "2", "--alluredir=allure-results"], signal.SIGINT)]


def one(folder: Path, args: list[str], how: signal.Signals) -> str:
    marker = folder / "marker"
    marker.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, "test_signal.py"],
                               cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            return f"{args} {how.name}: the job never started"
        time.sleep(0.02)
    sent = time.monotonic()
    process.send_signal(how)
    output = process.communicate(timeout=60)[0].decode(errors="replace")
    took = time.monotonic() - sent
    leak = "leak line" if "were still active and were cancelled" in output else "NO leak line"
    return f"{' '.join(args) or '(no options)'} {how.name}: exit {process.returncode}, {took:.2f} s, {leak}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2)
    trials = min(parser.parse_args().trials, 10)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_signal.py").write_text(SUITE)
        for args, how in CASES:
            for _ in range(trials):
                print(one(folder, args, how), flush=True)


if __name__ == "__main__":
    main()
