"""Seconds from a signal to the mutation command's end, and to the last of its children's: a one-test
suite whose test sleeps 600 s (and starts a grandchild) is run by ``python -m pytest_cloudjob.mutation``;
once the test sleeps, the command gets SIGINT, SIGTERM or SIGKILL. Each case is timed ``--trials`` times.

    python benchmarks/mutation_signals.py --trials 2

Prints one line per trial: signal, exit code, seconds to the command's exit, seconds until no child of it
runs (from /proc), whether the table was printed. Bounded: each run must start within 120 s, and the
children are given 60 s to go before they are killed and reported as left.
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
import os, subprocess, sys, time
from pathlib import Path

def test_sleeps():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (Path(__file__).parent / "hanging.pids").write_text(f"{os.getpid()} {child.pid}")
    time.sleep(600)
"""


def _below(pid: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat:
            parents.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X")


def one(folder: Path, how: signal.Signals) -> str:
    (folder / "hanging.pids").unlink(missing_ok=True)
    command = subprocess.Popen([sys.executable, "-m", "pytest_cloudjob.mutation", "test_sleep.py", "--no-faults",
                                "--defect", "no-progress", "--run-timeout", "900"], cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    while not (folder / "hanging.pids").exists():
        if time.monotonic() > deadline or command.poll() is not None:
            command.kill()
            return f"{how.name}: the run never started"
        time.sleep(0.05)
    children = _below(command.pid)
    sent = time.monotonic()
    command.send_signal(how)
    stdout, _ = command.communicate(timeout=120)
    exited = time.monotonic() - sent
    while any(_alive(pid) for pid in children) and time.monotonic() - sent < 60:
        time.sleep(0.05)
    gone = time.monotonic() - sent
    left = [pid for pid in children if _alive(pid)]
    for pid in left:
        subprocess.run(["kill", "-9", str(pid)], check=False)
    return (f"{how.name}: exit {command.returncode}, exited after {exited:.2f}s, children gone after "
            f"{gone:.2f}s{f', {len(left)} LEFT' if left else ''}, table printed: {'mutation score' in stdout}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_sleep.py").write_text(SUITE)
        for how in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            for _ in range(args.trials):
                print(one(folder, how), flush=True)


if __name__ == "__main__":
    main()
