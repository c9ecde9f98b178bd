"""Every process the mutation command starts, so that none outlives it.

Each suite run is a pytest process in a session (and process group) of its own, so stopping it stops
what it started too (xdist workers, a subprocess of a test); each run's reference cloud is a plain child.
Both are forked by the command's fork server (``forkserver.py``), which has imported pytest, the plugins
and the cloud once, and which kills what it forked when the command closes it or dies.
On SIGINT or SIGTERM the command stops them all: SIGTERM to each group and cloud, SIGKILL to whatever
is left after a short grace. A SIGKILL of the command cannot be handled, so each child notices on its
own: a cloud by ``--exit-with-parent``, a pytest run by the end of a pipe whose writing end only the
command holds (``probe.py`` watches it and kills its run's group when it reads end-of-file).
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.mutation.forkserver import ForkServer
from pytest_cloudjob.mutation.probe import PARENT_WATCH_ENV
from pytest_cloudjob.server.process import Process

GRACE_SECONDS = 2.0


class StoppingError(CloudJobError):
    """The command is stopping (SIGINT, SIGTERM): no new run may start."""


class Children:
    """The running children, and whether the command is stopping (no new run starts once it is)."""

    def __init__(self, watch_parent: bool = False) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, tuple[Process, bool]] = {}
        self.stopping = threading.Event()
        self._watch: tuple[int, int] | None = os.pipe() if watch_parent else None  # both ends non-inheritable
        self._server: ForkServer | None = None

    def _forkserver(self) -> ForkServer:
        with self._lock:
            if self.stopping.is_set():
                raise StoppingError("the mutation command is stopping")
            if self._server is None:  # it holds the watched end, so that what it forks can inherit it
                self._server = ForkServer(pass_fds=(self._watch[0],) if self._watch is not None else ())
            return self._server

    def spawn(self, argv: Sequence[str], env: dict[str, str], output: Path) -> Process:
        """``python -m argv...``, forked and registered as a plain child (a cloud), its output appended to
        ``output``."""
        return self._spawn(argv, env, output, group=False)

    def spawn_group(self, argv: Sequence[str], env: dict[str, str], output: Path) -> Process:
        """The same in a new session (a suite run, killed as a group), watching this process's pipe when
        there is one."""
        return self._spawn(argv, env, output, group=True)

    def _spawn(self, argv: Sequence[str], env: dict[str, str], output: Path, group: bool) -> Process:
        server = self._forkserver()
        keep: tuple[int, ...] = ()
        if group and self._watch is not None:
            env = {**env, PARENT_WATCH_ENV: f"{self._watch[0]}:{server.pid}"}  # the child's parent is the server
            keep = (self._watch[0],)
        with self._lock:  # no stop_all between the start and the registration
            if self.stopping.is_set():
                raise StoppingError("the mutation command is stopping")
            proc = server.spawn(argv, env, output, session=group, keep=keep)
            self._running[proc.pid] = (proc, group)
        return proc

    def close(self) -> None:
        """Close the fork server (it kills what it forked that still runs); ends every use of this object."""
        with self._lock:
            self.stopping.set()
            server, self._server = self._server, None
        if server is not None:
            server.close()

    def discard(self, proc: Process) -> None:
        with self._lock:
            self._running.pop(proc.pid, None)

    def kill(self, proc: Process) -> None:
        """SIGKILL one registered child (its whole group if it leads one) and reap it."""
        with self._lock:
            group = self._running.get(proc.pid, (proc, False))[1]
        _signal(proc, group, signal.SIGKILL)
        proc.wait()

    def stop_all(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM every child, SIGKILL what is left after ``grace`` seconds; no new child starts after."""
        with self._lock:
            self.stopping.set()
            running = list(self._running.values())
        for proc, group in running:
            _signal(proc, group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(proc.poll() is None for proc, _ in running):
            time.sleep(0.05)
        for proc, group in running:
            if group or proc.poll() is None:  # a group may outlive its leader: kill it in any case
                _signal(proc, group, signal.SIGKILL)
        for proc, _ in running:
            with suppress(subprocess.TimeoutExpired):  # SIGKILL ends a process; a stuck reap must not hang us
                proc.wait(timeout=grace)
        self.close()


def _signal(proc: Process, group: bool, signum: int) -> None:
    try:
        if group:
            os.killpg(proc.pid, signum)
        elif proc.poll() is None:
            proc.send_signal(signum)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
