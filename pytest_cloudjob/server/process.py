"""Start and stop a reference cloud as a subprocess: what the plugin does when no target is given."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pytest_cloudjob.errors import CloudJobError

STARTUP_TIMEOUT = 30.0


class Process(Protocol):
    """What the cloud's process must offer: a :class:`subprocess.Popen`, or a child forked by the mutation
    command's fork server (``mutation/forkserver.py``)."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, signum: int) -> None: ...
    def kill(self) -> None: ...


#: Starts ``python -m argv[0] argv[1:]`` with ``env``, its output appended to a file.
Spawn = Callable[[Sequence[str], dict[str, str], Path], Process]


class CloudStartError(CloudJobError):
    """The reference cloud did not start; the message carries the end of its log."""


@dataclass
class RunningCloud:
    """A reference cloud subprocess: its URL, its tokens by account name, its log file."""

    url: str
    tokens: dict[str, str]
    log_path: Path
    process: Process = field(repr=False)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def start_reference_cloud(log_path: Path, args: list[str] | None = None,
                          timeout: float = STARTUP_TIMEOUT, spawn: Spawn | None = None) -> RunningCloud:
    """Start ``python -m pytest_cloudjob.server`` on 127.0.0.1 with a free port and wait until it serves
    (by ``spawn`` when given, else as a subprocess)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    info_dir = Path(tempfile.mkdtemp(prefix="cloudjob-"))
    info_file = info_dir / "info.json"
    argv = ["pytest_cloudjob.server", "--host", "127.0.0.1", "--port", "0",
            "--info-file", str(info_file), "--exit-with-parent", *(args or [])]
    process = (spawn or _popen)(argv, {**os.environ, "PYTHONUNBUFFERED": "1"}, log_path)
    deadline = time.monotonic() + timeout
    try:
        while not info_file.exists():
            if process.poll() is not None:
                raise CloudStartError(f"reference cloud exited with code {process.returncode} before serving; "
                                      f"log {log_path}: {_tail(log_path)}")
            if time.monotonic() > deadline:
                process.kill()
                raise CloudStartError(f"reference cloud not serving after {timeout:g}s; log {log_path}: "
                                      f"{_tail(log_path)}")
            time.sleep(0.02)
        info = json.loads(info_file.read_text())
    finally:
        info_file.unlink(missing_ok=True)
        info_dir.rmdir()
    return RunningCloud(info["url"], info["tokens"], log_path, process)


def _popen(argv: Sequence[str], env: dict[str, str], log_path: Path) -> Process:
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", *argv], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
    except OSError:
        return "(unreadable)"
