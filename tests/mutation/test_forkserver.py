"""The mutation command's fork server: a forked child is what ``python -m <module> <args>`` would be (its
argv, its environment, its output file, its exit status), in a session of its own when asked, holding no
descriptor of the server but the ones named; and closing the server leaves nothing it forked running."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_cloudjob.mutation.forkserver import ForkServer

MODULE = """
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "name": __name__, "env": os.environ.get("ONLY_IN_THE_CHILD"),
                  "server_env": os.environ.get("ONLY_IN_THE_SERVER"), "pgid": os.getpgrp(), "pid": os.getpid(),
                  "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")), "stdin": sys.stdin.read()}))
if sys.argv[1:2] == ["exit"]:
    sys.exit(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
if sys.argv[1:2] == ["raise"]:
    raise ValueError("raised in the child")
if sys.argv[1:2] == ["sleep"]:
    import time
    time.sleep(600)
"""

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads descriptors from /proc")


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "forked_module.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)  # as ``python -m``, the server finds modules from its working directory
    monkeypatch.setenv("ONLY_IN_THE_SERVER", "yes")
    return tmp_path


@pytest.fixture
def server(module_dir: Path) -> Iterator[ForkServer]:
    started = ForkServer()
    yield started
    started.close()


def run(server: ForkServer, tmp_path: Path, *args: str, **kwargs: object) -> tuple[int, str]:
    output = tmp_path / f"out-{time.monotonic_ns()}.txt"
    child = server.spawn(["forked_module", *args], {"ONLY_IN_THE_CHILD": "here"}, output, **kwargs)  # type: ignore[arg-type]
    return child.wait(timeout=60), output.read_text()


def test_a_forked_child_runs_the_module_as_main_with_its_own_argv_environment_and_output(server, tmp_path):
    import json

    code, output = run(server, tmp_path, "one", "two")
    seen = json.loads(output)
    assert code == 0
    assert seen["argv"] == ["one", "two"] and seen["name"] == "__main__"
    assert seen["env"] == "here" and seen["server_env"] is None, "the environment is the one given, only"
    assert seen["stdin"] == "", "stdin is /dev/null"


@pytest.mark.parametrize(("args", "code", "said"), [
    (("exit", "3"), 3, None),
    (("exit", "a message, as sys.exit prints it"), 1, "a message, as sys.exit prints it"),
    (("raise",), 1, "ValueError: raised in the child"),
])
def test_its_exit_status_and_last_words_are_those_of_python_m(server, tmp_path, args, code, said):
    status, output = run(server, tmp_path, *args)
    assert status == code
    if said:
        assert said in output


def test_a_child_in_a_session_leads_its_own_group_and_holds_only_the_descriptors_it_keeps(module_dir, tmp_path):
    import json

    kept_read, kept_write = os.pipe()
    os.set_inheritable(kept_read, True)
    try:
        relay = ForkServer(pass_fds=(kept_read,))
        try:
            code, output = run(relay, tmp_path, session=True, keep=(kept_read,))
        finally:
            relay.close()
    finally:
        os.close(kept_read)
        os.close(kept_write)
    seen = json.loads(output)
    assert code == 0
    assert seen["pgid"] == seen["pid"], "a session of its own: the command kills its run's whole group"
    assert kept_read in seen["fds"]
    others = set(seen["fds"]) - {0, 1, 2, kept_read}
    assert len(others) <= 1, f"descriptors of the server leaked into the child: {seen['fds']}"  # 1: listdir's own


def test_a_killed_child_reports_the_signal_and_closing_the_server_kills_what_still_runs(server, tmp_path):
    import json

    out_one, out_two = tmp_path / "one.txt", tmp_path / "two.txt"
    killed = server.spawn(["forked_module", "sleep"], {}, out_one, session=True)
    left = server.spawn(["forked_module", "sleep"], {}, out_two)
    for out in (out_one, out_two):
        deadline = time.monotonic() + 30
        while not (out.exists() and out.read_text()):  # the child creates its output file
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    assert left.poll() is None
    pid = json.loads(out_two.read_text())["pid"]
    server.close()
    assert left.wait(timeout=30) == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
