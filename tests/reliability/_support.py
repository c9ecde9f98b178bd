"""What the plugin's reliability tests share: a scriptable cloud on loopback, real pytest subprocesses,
the process tree of a run, and the search for a secret in every artefact of a run."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Every variable of the plugin, cleared so an inner run sees only what a test sets.

class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the sweep's deadline) is what some tests do on purpose


@dataclass
class FakeCloud:
    """A cloud on 127.0.0.1 that answers what a test scripts: the platforms exist, the admin listing and
    the cancels answer ``listing`` / ``cancel_many`` / ``cancel``; every request is recorded."""

    listing: Callable[[], tuple[int, Any]] = lambda: (200, [])
    cancel_many: Callable[[list[str]], tuple[int, Any]] = lambda ids: (200, {"results": {i: "canceled" for i in ids}})
    cancel: Callable[[str], tuple[int, Any]] = lambda job_id: (200, {})
    requests: list[tuple[str, str]] = field(default_factory=list)
    listings: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeCloud:
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                cloud.requests.append(("GET", self.path))
                if self.path.startswith("/api/admin/jobs"):
                    cloud.listings += 1
                    self._answer(*cloud.listing())
                elif self.path.startswith(("/api/platform/", "/api/platforms/")):
                    self._answer(200, {"name": self.path.rsplit("/", 1)[-1], "status": "available"})
                else:
                    self._answer(404, {"detail": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                cloud.requests.append(("POST", self.path))
                if self.path == "/api/admin/jobs/cancel":
                    self._answer(*cloud.cancel_many(body["job_ids"]))
                elif self.path.startswith("/api/job/cancel/"):
                    self._answer(*cloud.cancel(self.path.rsplit("/", 1)[-1]))
                else:
                    self._answer(404, {"detail": "not found"})

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def die(self) -> None:
        """Stop serving and close the listening socket: later connections are refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def cancelled(self) -> list[str]:
        return [path.rsplit("/", 1)[-1] for method, path in self.requests if path.startswith("/api/job/cancel/")]


def spawn_pytest(cwd: Path, *args: str, env: dict[str, str] | None = None, new_session: bool = False
                 ) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """``python -m pytest`` as a CI runner starts it; stdout and stderr go to files in ``cwd``."""
    out, err = cwd / "run.stdout", cwd / "run.stderr"
    with open(out, "wb") as o, open(err, "wb") as e:
        process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                                   stdout=o, stderr=e, stdin=subprocess.DEVNULL, env=env or dict(os.environ),
                                   start_new_session=new_session)
    return process, out, err


def wait_for_file(path: Path, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"the run ended (code {process.returncode}) before {path.name} appeared"
        assert time.monotonic() < deadline, f"{path.name} did not appear within {timeout:g}s"
        time.sleep(0.05)


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            out[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (xdist workers, the embedded cloud), read from /proc."""
    parents = _parents()
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: Iterable[int]) -> set[int]:
    """The processes of ``pids`` still running (a zombie waiting to be reaped has ended)."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def kill_all(pids: Iterable[int]) -> None:
    """Test hygiene only: never leave a process behind, even when an assertion failed."""
    for pid in alive(pids):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def artefacts(folder: Path) -> dict[str, str]:
    """Every file a run wrote under ``folder`` (stdout, stderr, junit, --debug, Allure, logs), by name."""
    return {str(p.relative_to(folder)): p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()
            and p.suffix not in (".py", ".pyc")}


def assert_nowhere(secret: str, texts: dict[str, str]) -> None:
    leaked = [name for name, text in texts.items() if secret in text]
    assert not leaked, f"the secret appears in {leaked}"


def run_id_in(text: str) -> str:
    match = re.search(r"run id: (run-[0-9a-f-]+)", text)
    assert match, text[-3000:]
    return match.group(1)


class Hang(AssertionError):
    """A load or a call still running at its hang guard: the test fails instead of hanging."""


@contextlib.contextmanager
def hang_guard(seconds: float, what: str = "loading") -> Iterator[None]:
    """Raise :class:`Hang` in the main thread after ``seconds`` of wall time (SIGALRM), where it exists."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Hang(f"still {what} after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
