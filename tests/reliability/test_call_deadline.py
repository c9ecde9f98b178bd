"""R2 (issue 19): every call has a total deadline, connect + first byte + whole body, retries included.

A cloud on 127.0.0.1 that trickles its answer a byte at a time (status line, or a long body), sends chunks
forever, or accepts and never answers: a create, a results read and a cancel (retried: cancelling twice is
harmless) each end near ``CloudContext(call_timeout=2)`` with one line naming the call and the deadline. On
0cd7804 only calls inside a wait had a deadline: each of these hung (killed at 50 s), a read timeout never
fires while bytes keep coming.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from _raw_cloud import serve

from pytest_cloudjob import CloudApiError, CloudContext, Job, User
from pytest_cloudjob.api.client import DEFAULT_CALL_TIMEOUT
from pytest_cloudjob.api.deadline import calls_end_by
from pytest_cloudjob.redaction import register_secret

TOKEN = "tok-deadline-4b7e21aa"
USER = User(TOKEN)
CALL_TIMEOUT = 2.0
#: Generous, and the bound IS the behaviour: each call would hang for ever without its deadline.
ENDS_WITHIN = 20.0
BYTE_EVERY = 0.25


def _trickle_head(conn: socket.socket, stop: threading.Event) -> None:
    """The status line and headers, one byte at a time, never finished."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: " + b"a" * 10**6:
        if stop.wait(BYTE_EVERY):
            return
        conn.sendall(bytes([byte]))


def _trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then a 1 MB body declared and sent a byte at a time."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
    while not stop.wait(BYTE_EVERY):
        conn.sendall(b" ")


def _chunked_forever(conn: socket.socket, stop: threading.Event) -> None:
    """A chunked body whose last chunk never comes."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n[\r\n")
    while not stop.wait(BYTE_EVERY):
        conn.sendall(b"1\r\n \r\n")


def _never(conn: socket.socket, stop: threading.Event) -> None:
    """Accepts the request and never says a word."""
    stop.wait(120)


ANSWERS: dict[str, Callable[[socket.socket, threading.Event], None]] = {
    "trickled status line": _trickle_head, "trickled body": _trickle_body, "chunked forever": _chunked_forever,
    "never answers": _never}


@pytest.fixture(params=list(ANSWERS))
def bad_cloud(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[int]]]:
    url, stop, connections = serve(ANSWERS[request.param])
    yield url, connections
    stop.set()


CALLS: dict[str, tuple[str, Callable[[CloudContext], object]]] = {
    "create": ("POST /api/job", lambda c: Job(payload={"command": "x"}).create(c, USER)),
    "results": ("GET /api/job/result/j-1", lambda c: Job(job_id="j-1").get_results(c, USER)),
    "cancel": ("POST /api/job/cancel/j-1", lambda c: Job(job_id="j-1").cancel(c, USER)),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_a_call_ends_at_its_deadline_however_the_cloud_answers(bad_cloud: tuple[str, list[int]], call: str) -> None:
    register_secret(TOKEN)
    url, _ = bad_cloud
    where, make = CALLS[call]
    with CloudContext(url, call_timeout=CALL_TIMEOUT) as context:  # the default 30 s read timeout
        started = time.monotonic()
        with pytest.raises(CloudApiError) as info:
            make(context)
        elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < ENDS_WITHIN, f"{call} took {elapsed:.1f}s"
    assert info.value.kind == "transport" and info.value.status is None
    assert message.startswith(f"{where} -> transport error; timed out at the call's deadline of 2s"), message
    assert "\n" not in message and TOKEN not in message


def test_retries_stop_at_the_call_deadline() -> None:
    # A cancel is retried (4 attempts by default); the call's deadline bounds all of them together.
    url, stop, connections = serve(_never)
    try:
        with CloudContext(url, call_timeout=CALL_TIMEOUT, read_timeout=0.8) as context:
            started = time.monotonic()
            with pytest.raises(CloudApiError, match="transport error; timed out") as info:
                Job(job_id="j-1").cancel(context, USER)
            elapsed = time.monotonic() - started
    finally:
        stop.set()
    assert elapsed < ENDS_WITHIN
    # Each attempt was cut by its 0.8 s read timeout; the deadline left room for two or three, never the four.
    assert 1 <= info.value.attempts < context.retry.attempts and len(connections) == info.value.attempts


def test_inside_a_wait_the_earlier_deadline_applies() -> None:
    url, stop, _ = serve(_trickle_body)
    try:
        with CloudContext(url, call_timeout=30) as context:
            started = time.monotonic()
            with calls_end_by(time.monotonic() + 1.0), pytest.raises(CloudApiError) as info:
                Job(job_id="j-1").get_results(context, USER)
            elapsed = time.monotonic() - started
    finally:
        stop.set()
    assert elapsed < ENDS_WITHIN
    assert "the time left before the deadline" in str(info.value) and "call's deadline" not in str(info.value)


def test_the_call_timeout_has_a_sane_default_and_is_checked() -> None:
    assert CloudContext("http://127.0.0.1:1").call_timeout == DEFAULT_CALL_TIMEOUT == 60.0
    for bad in (0, -1, float("inf"), float("nan"), True, "60"):
        with pytest.raises(ValueError, match="call_timeout"):
            CloudContext("http://127.0.0.1:1", call_timeout=bad)  # type: ignore[arg-type]


PRINT_CALL_TIMEOUT = """
    def test_call_timeout(cloud_context):
        print("CALL_TIMEOUT", cloud_context.call_timeout)
"""


def test_the_plugin_setting_reaches_the_context(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # --cloud-call-timeout > CLOUDJOB_CALL_TIMEOUT > cloud_call_timeout, into the run's CloudContext.
    monkeypatch.delenv("CLOUDJOB_CALL_TIMEOUT", raising=False)
    pytester.makeini("[pytest]\ncloud_call_timeout = 11\n")
    pytester.makepyfile(PRINT_CALL_TIMEOUT)
    result = pytester.runpytest("-s", "--cloud-no-sweep")
    result.stdout.fnmatch_lines(["*CALL_TIMEOUT 11.0*"])
    monkeypatch.setenv("CLOUDJOB_CALL_TIMEOUT", "2m")
    result = pytester.runpytest("-s", "--cloud-no-sweep")
    result.stdout.fnmatch_lines(["*CALL_TIMEOUT 120.0*"])
    result = pytester.runpytest("-s", "--cloud-no-sweep", "--cloud-call-timeout", "500ms")
    result.stdout.fnmatch_lines(["*CALL_TIMEOUT 0.5*"])


def test_a_wrong_call_timeout_names_the_setting(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDJOB_CALL_TIMEOUT", raising=False)
    pytester.makepyfile(PRINT_CALL_TIMEOUT)
    for value in ("soon", "0", "9" * 400):
        result = pytester.runpytest("--cloud-call-timeout", value)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["ERROR: --cloud-call-timeout: the call timeout must be a positive, finite number*"
                                     "(--cloud-call-timeout / CLOUDJOB_CALL_TIMEOUT / cloud_call_timeout)"])
