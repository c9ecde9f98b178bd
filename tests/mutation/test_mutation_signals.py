"""``python -m pytest_cloudjob.mutation`` stopped as a person (Ctrl-C), a CI runner (SIGTERM) or the
kernel (SIGKILL) stops it: every child goes (each pytest run, what its tests started, each reference
cloud), and on SIGINT and SIGTERM the table of the runs that finished still prints, marked interrupted.

The suite's first run passes at once; every later run starts a grandchild and then sleeps far longer than
the bounds asserted here, so a command that waits for its runs, or leaves them behind, fails."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")

HANGS_AFTER_THE_FIRST_RUN = """
import os, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).parent

def test_first_run_passes_later_ones_hang():
    marker = HERE / "first-run-done"
    if not marker.exists():
        marker.write_text("done")
        return
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (HERE / "hanging.pids").write_text(f"{os.getpid()} {grandchild.pid}")
    time.sleep(600)
"""


def ppid_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[1]), fields[0]


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := ppid_and_state(int(entry.name))) is not None:
            children.setdefault(info[0], []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    info = ppid_and_state(pid)
    return info is not None and info[1] not in ("Z", "X")  # a zombie has ended, only not been reaped


def survivors(pids: set[int], within: float) -> set[int]:
    """The processes of ``pids`` still running after ``within`` seconds (polled, not slept)."""
    deadline = time.monotonic() + within
    while (left := {pid for pid in pids if alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def kill_all(pids: set[int]) -> None:
    for pid in pids:
        if alive(pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Command:
    """The mutation command on a pytester suite, its progress lines read as they come."""

    def __init__(self, pytester: pytest.Pytester, *args: str) -> None:
        self.folder = pytester.path
        self.json = pytester.path / "mutation.json"
        self.proc = subprocess.Popen([sys.executable, "-m", "pytest_cloudjob.mutation", "test_hang.py",
                                      "--workers", "1", "--run-timeout", "900", "--json", str(self.json), *args],
                                     cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.seen: set[int] = set()
        threading.Thread(target=self._read, daemon=True).start()

    def clean_up(self) -> None:
        """Whatever the test's verdict, nothing it started is left running for the next test."""
        self.seen |= descendants(self.proc.pid)
        self.proc.kill()
        self.proc.wait()
        kill_all(self.seen)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line.rstrip("\n"))

    def said(self, wanted: str, timeout: float = 10) -> bool:
        """Whether the command printed the line ``wanted`` on stderr (read as it comes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.lines.get(timeout=0.2) == wanted:
                    return True
            except queue.Empty:
                pass
        return False

    def hanging_run(self, timeout: float = 120) -> set[int]:
        """Wait until the hanging run's test is inside its sleep; every process under the command then."""
        pids_file = self.folder / "hanging.pids"
        deadline = time.monotonic() + timeout
        while not pids_file.exists():
            assert time.monotonic() < deadline, f"the hanging test never started: {''.join(self.stderr)}"
            assert self.proc.poll() is None, f"the command ended: {''.join(self.stderr)}"
            time.sleep(0.1)
        pytest_pid, grandchild = map(int, pids_file.read_text().split())
        below = descendants(self.proc.pid)
        self.seen |= below
        assert {pytest_pid, grandchild} <= below and len(below) >= 3, below  # a pytest run, its child, a cloud
        return below


@pytest.fixture
def command(pytester: pytest.Pytester) -> Iterator[Callable[..., Command]]:
    started: list[Command] = []

    def start(*args: str) -> Command:
        started.append(Command(pytester, *args))
        return started[-1]

    yield start
    for each in started:
        each.clean_up()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_sigint_and_sigterm_stop_every_child_and_print_the_table_of_what_finished(
        pytester: pytest.Pytester, command: Callable[..., Command], signum: int) -> None:
    pytester.makepyfile(test_hang=HANGS_AFTER_THE_FIRST_RUN)
    mutation = command("--fault", "unbroken", "--defect", "no-progress", "--defect", "anonymous-allowed")
    children = mutation.hanging_run()  # the second run is inside its test

    mutation.proc.send_signal(signum)
    sent = time.monotonic()
    stdout, _ = mutation.proc.communicate(timeout=60)  # its runs would sleep 600 s
    took = time.monotonic() - sent
    name = signal.Signals(signum).name
    assert mutation.proc.returncode == 128 + signum, stdout + "".join(mutation.stderr)
    assert not survivors(children, within=2.0), "a child of the command outlived it"
    assert took < 20, f"took {took:.1f}s to stop (children are stopped within 5 s on a quiet machine)"
    assert "Traceback" not in stdout + "".join(mutation.stderr)

    rows = stdout.splitlines()
    assert rows[0].startswith("run ") and "verdict" in rows[0], stdout
    assert any(row.startswith("unbroken ") and " green " in row for row in rows), stdout
    assert f"INTERRUPTED by {name}: 1 of 3 runs finished, the score above counts only those; " \
           "stopped: no-progress; not started: 1" in stdout
    data = json.loads(mutation.json.read_text())
    assert data["interrupted"] == {"signal": name, "stopped": ["no-progress"], "not_started": ["anonymous-allowed"]}
    assert [run["name"] for run in data["runs"]] == ["unbroken"] and data["runs"][0]["verdict"] == "green"
    assert mutation.said("  no-progress: started"), "the progress line a person waits for"


def test_sigkill_of_the_command_takes_its_children_with_it(pytester: pytest.Pytester,
                                                           command: Callable[..., Command]) -> None:
    pytester.makepyfile(test_hang=HANGS_AFTER_THE_FIRST_RUN)
    (pytester.path / "first-run-done").write_text("every run hangs")
    mutation = command("--no-faults", "--defect", "no-progress")
    children = mutation.hanging_run()

    os.kill(mutation.proc.pid, signal.SIGKILL)
    mutation.proc.wait(timeout=30)
    assert not survivors(children, within=15.0), "children of a SIGKILLed command still running after 15 s"
