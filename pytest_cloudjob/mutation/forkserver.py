"""A fork server for the mutation command's runs: one process imports pytest, the plugins and the reference
cloud once, then forks each suite run and each cloud from that state.

Why: the command starts two processes per defect (a pytest run and its cloud), a hundred defects per
catalogue, and each ``python -m`` start spent most of its CPU importing the same modules again (0.3 s for
pytest and the plugins, 0.2 s for the cloud). A forked child finds them already imported.

What a forked child is, is what ``python -m <module> <args>`` would be: the module runs as ``__main__``
with that ``sys.argv``, in the environment it is given, stdin from ``/dev/null``, stdout and stderr
appended to one file, in a session of its own when asked (so that its process group can be killed), with
no descriptor of the server but the ones named. Modules imported here are not imported again, so pytest
cannot rewrite the asserts of the plugins imported here (it warns so; the runs ignore that warning).
Perceval is not imported here: it starts threads, and a process with threads must not fork.

Protocol, one JSON object per line: the command writes ``{"argv", "env", "output", "session", "keep"}``
to the server's stdin; the server answers ``{"pid"}`` when the child is forked (or ``{"error"}``) and
``{"pid", "code"}`` when it has reaped it (``code`` as :attr:`subprocess.Popen.returncode`). At end-of-file
on its stdin (the command closed it, or died) the server kills what it forked that still runs and exits.
"""
from __future__ import annotations

import atexit
import importlib
import json
import os
import queue
import runpy
import select
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

from pytest_cloudjob.errors import CloudJobError

#: Imported once by the server. Only what every run imports anyway, and nothing that starts a thread.
WARM = ("pytest", "_pytest.config", *(f"_pytest.{name}" for name in (
    "python", "terminal", "debugging", "capture", "skipping", "assertion", "junitxml", "warnings", "logging",
    "reports", "fixtures", "runner", "main", "mark", "helpconfig", "monkeypatch", "tmpdir", "faulthandler")),
    "xdist.plugin", "xdist.looponfail", "allure_pytest.plugin", "pytest_cloudjob.plugin",
    "pytest_cloudjob.mutation.probe",
    # the cloud's modules (its __main__ runs as a module, so it is not imported here), uvicorn's lazy ones too
    "uvicorn.main", "pytest_cloudjob.server.app", "pytest_cloudjob.server.openapi", "uvloop",
    "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.websockets.wsproto_impl")
SPAWN_TIMEOUT = 60.0


class ForkServerError(CloudJobError):
    """The fork server is gone or did not answer: the run cannot start."""


class ForkedProcess:
    """A child of the fork server, seen from the command: what :class:`subprocess.Popen` offers that the
    command uses (``pid``, ``returncode``, ``poll``, ``wait``, ``send_signal``, ``kill``)."""

    def __init__(self, pid: int, argv: Sequence[str]) -> None:
        self.pid = pid
        self.args = list(argv)
        self.returncode: int | None = None
        self._done = threading.Event()

    def _exited(self, code: int) -> None:
        self.returncode = code
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:  # once reaped, the pid may be another process's
            with suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The command's side: starts the server, forks children through it, learns their exit codes."""

    def __init__(self, pass_fds: Sequence[int] = ()) -> None:
        self._proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, pass_fds=tuple(pass_fds))
        self.pid = self._proc.pid
        self._lock = threading.Lock()  # one spawn at a time: answers come in request order
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._children: dict[int, ForkedProcess] = {}
        self._exits: dict[int, int] = {}  # reaped before its handle was registered
        self._registry = threading.Lock()  # _children and _exits: the reader thread writes them too
        self._gone = False
        threading.Thread(target=self._read, name="cloudjob-forkserver", daemon=True).start()

    def spawn(self, argv: Sequence[str], env: dict[str, str], output: Path, session: bool = False,
              keep: Sequence[int] = ()) -> ForkedProcess:
        """``python -m argv[0] argv[1:]``, forked; ``keep``: descriptors of the server the child keeps."""
        request = {"argv": list(argv), "env": env, "output": str(output), "session": session, "keep": list(keep)}
        with self._lock:
            if self._gone or self._proc.stdin is None:
                raise ForkServerError("the mutation command's fork server is gone")
            try:
                self._proc.stdin.write((json.dumps(request) + "\n").encode())
                self._proc.stdin.flush()
                answer = self._answers.get(timeout=SPAWN_TIMEOUT)
            except (OSError, queue.Empty) as exc:
                raise ForkServerError(f"the mutation command's fork server did not answer: {exc}") from None
            if "pid" not in answer:
                raise ForkServerError(f"the fork server could not start {argv[0]}: {answer.get('error')}")
            child = ForkedProcess(int(answer["pid"]), argv)
            with self._registry:
                self._children[child.pid] = child
                if child.pid in self._exits:
                    child._exited(self._exits.pop(child.pid))
            return child

    def close(self, timeout: float = 5.0) -> None:
        """End-of-file to the server: it kills what still runs and exits."""
        with self._lock:
            if self._proc.stdin is not None and not self._proc.stdin.closed:
                with suppress(OSError):
                    self._proc.stdin.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            message = json.loads(line)
            if "code" in message:
                with self._registry:
                    child = self._children.pop(message["pid"], None)
                    if child is None:
                        self._exits[message["pid"]] = message["code"]
                    else:
                        child._exited(message["code"])
            else:
                self._answers.put(message)
        self._gone = True  # the server exited: it killed its children first
        self._answers.put({"error": "the fork server exited"})
        with self._registry:
            left, self._children = list(self._children.values()), {}
        for child in left:
            child._exited(-signal.SIGKILL)


def serve() -> None:
    """The server's loop: fork on each request, report each child's end, stop at end-of-file."""
    for module in WARM:
        with suppress(ImportError):  # an optional plugin that is not installed: the runs do without it too
            importlib.import_module(module)
    running: set[int] = set()
    pending = b""
    while True:
        readable, _, _ = select.select([0], [], [], 0.05)
        _reap(running)
        if not readable:
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            request = json.loads(line)
            try:
                pid = os.fork()
            except OSError as exc:
                _answer({"error": str(exc)})
                continue
            if pid == 0:
                _child(request)
            running.add(pid)
            _answer({"pid": pid})
    for pid in running:  # the command is gone or done: nothing it started may outlive it
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # a child in a session of its own leads a group
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while running:
        _reap(running, block=True)


def _reap(running: set[int], block: bool = False) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            running.clear()
            return
        if pid == 0:
            return
        running.discard(pid)
        _answer({"pid": pid, "code": os.waitstatus_to_exitcode(status)})
        if block:
            return


def _answer(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def _child(request: dict[str, Any]) -> NoReturn:
    """In the forked child: become ``python -m argv[0] ...`` and exit with its status, never return."""
    code = 1
    try:
        if request["session"]:
            os.setsid()
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        keep = sorted(int(fd) for fd in request["keep"] if int(fd) > 2)
        low = 3
        for fd in [*keep, os.sysconf("SC_OPEN_MAX")]:
            os.closerange(low, fd)
            low = fd + 1
        if os.environ.get("PYTHONUNBUFFERED"):
            for stream in (sys.stdout, sys.stderr):
                stream.reconfigure(write_through=True)  # type: ignore[union-attr]
        module, *args = request["argv"]
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # what python would print for an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the whole terminal group; the command decides
    serve()
