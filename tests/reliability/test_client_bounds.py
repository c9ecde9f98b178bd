"""The client against clouds that misbehave on purpose, each a real server on 127.0.0.1: one that accepts
connections and never answers, one that answers a few polls then goes silent, one that sends a 50 MB
body. A wait must end at its deadline (plus one short margin) with the history, and a huge body must be
refused without the client ever holding it."""
from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _raw_cloud import serve

from pytest_cloudjob import CloudApiError, CloudContext, Job, User
from pytest_cloudjob.api.client import DEFAULT_MAX_RESPONSE_BYTES
from pytest_cloudjob.api.waiting import PollingPolicy, WaitTimeoutError

USER = User("tok-bounds-3f9a0c")
BIG = 50 * 1024 * 1024
#: Generous: the promise is T + ``last_call_grace`` (1 s); the slack absorbs a loaded CI machine. Without the
#: deadline cut, each call waits the 30 s read timeout, and retries multiply it.
SLACK = 3.0


@pytest.fixture
def silent_cloud() -> Iterator[str]:
    """Accepts TCP connections and never sends a byte (each held open until the test ends)."""
    url, stop, _ = serve(lambda conn, stop: stop.wait())
    yield url
    stop.set()


class _Cloud(ThreadingHTTPServer):
    daemon_threads = True
    answers_before_silence = 10**9
    body_size = 0
    chunked = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.polls = 0
        self.stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Cloud

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        cloud = self.server
        cloud.polls += 1
        if cloud.polls > cloud.answers_before_silence:
            cloud.stop.wait(60)  # silent: the connection stays open, nothing is sent
            return
        if self.path.startswith("/api/job/status/big") and cloud.body_size:
            self._send_big(cloud)
            return
        body = json.dumps({"status": "running", "progress": 0.1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_big(self, cloud: _Cloud) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if cloud.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(cloud.body_size))
        self.end_headers()
        head, tail = b'{"status": "running", "pad": "', b'"}'
        pad = cloud.body_size - len(head) - len(tail)
        pieces = itertools.chain([head], (b"x" * min(1 << 20, pad - i) for i in range(0, pad, 1 << 20)), [tail])
        try:
            for piece in pieces:  # made one at a time: the server shares the test's process and its tracemalloc
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if cloud.chunked else piece)
            if cloud.chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up: what a bounded client does
            self.close_connection = True


@pytest.fixture
def cloud() -> Iterator[_Cloud]:
    server = _Cloud()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_wait_on_a_silent_cloud_ends_at_its_deadline_and_says_it_timed_out(silent_cloud: str) -> None:
    context = CloudContext(silent_cloud)  # the defaults: 30 s read timeout, 4 attempts for a status read
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as info:
        Job(job_id="j-silent").wait_until(context, USER, "completed", timeout=1.0)
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < 1.0 + PollingPolicy().last_call_grace + SLACK, message
    assert "no answer in time: still unseen after 1s" in message and "timed out" in message
    assert "the time left before the deadline" in message and "history: (no status observed)" in message
    assert USER.get_token() not in message
    context.close()


def test_a_cloud_that_goes_silent_mid_wait_ends_the_wait_at_its_deadline_with_the_history(cloud: _Cloud) -> None:
    cloud.answers_before_silence = 3
    context = CloudContext(cloud.url)
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as info:
        Job(job_id="j-mid").wait_until(context, USER, "completed", timeout=1.5)
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < 1.5 + PollingPolicy().last_call_grace + SLACK, message
    assert "no answer in time: still running after 1.5s" in message and "running (10%) x3" in message
    context.close()


@pytest.fixture
def trickling_cloud() -> Iterator[tuple[str, dict[str, str]]]:
    """Answers every request one byte every 0.3 s (everything, only the body, or a status line whose reason
    never ends, so that what arrived by the deadline parses as ``HTTP/1.1 200``): each read is well inside
    the read timeout, the answer never arrives in time."""
    mode = {"trickle": "everything"}
    body = json.dumps({"status": "running", "progress": 0.1}).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        fast, slow = {"everything": (b"", head + body), "body": (head, body),
                      "status line": (b"HTTP/1.1 200 ", b"O" * 200)}[mode["trickle"]]
        conn.sendall(fast)
        for byte in slow:
            if stop.wait(0.3):
                return
            conn.sendall(bytes([byte]))

    url, stop, _ = serve(answer)
    yield url, mode
    stop.set()


@pytest.mark.parametrize("trickle", ["everything", "body", "status line"])
def test_a_cloud_trickling_its_answer_inside_the_read_timeout_cannot_hold_a_wait(trickling_cloud, trickle) -> None:
    url, mode = trickling_cloud
    mode["trickle"] = trickle  # about 25 s to send a whole answer at 0.3 s a byte
    context = CloudContext(url)
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as info:
        Job(job_id="j-trickle").wait_until(context, USER, "completed", timeout=1.0)
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < 1.0 + PollingPolicy().last_call_grace + SLACK, message
    assert "still arriving at the deadline" in message and "history: (no status observed)" in message
    context.close()


def test_a_status_call_alone_keeps_its_configured_timeouts(silent_cloud: str) -> None:
    # Outside a wait nothing cuts the timeouts: the call is refused after the read timeout, not at once.
    context = CloudContext(silent_cloud, read_timeout=0.3)
    with pytest.raises(CloudApiError, match="transport error; timed out") as info:
        Job(job_id="j").get_status(context, USER)
    assert info.value.attempts == context.retry.attempts and "deadline" not in str(info.value)
    context.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_50_mb_status_body_is_refused_without_being_held_and_the_next_call_works(cloud: _Cloud,
                                                                                   chunked: bool) -> None:
    cloud.body_size, cloud.chunked = BIG, chunked
    context = CloudContext(cloud.url)
    tracemalloc.start()
    try:
        with pytest.raises(CloudApiError) as info:
            Job(job_id="big").get_status(context, USER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    err = info.value
    assert err.kind == "protocol" and err.status == 200 and err.attempts == 1
    assert f"limit of {DEFAULT_MAX_RESPONSE_BYTES:,} bytes" in str(err) and "max_response_bytes" in str(err)
    assert peak < 3 * DEFAULT_MAX_RESPONSE_BYTES, f"the client held {peak:,} bytes"
    # The refused connection was closed, not returned to the pool half-read: the next call is answered.
    assert Job(job_id="small").get_status(context, USER)["status"] == "running"
    context.close()


def test_a_large_body_under_a_raised_limit_is_read_whole(cloud: _Cloud) -> None:
    cloud.body_size, cloud.chunked = 8 * 1024 * 1024, True
    context = CloudContext(cloud.url, max_response_bytes=9 * 1024 * 1024)
    body = Job(job_id="big").get_status(context, USER)
    assert body["status"] == "running" and len(body["pad"]) > 1_000_000
    context.close()
