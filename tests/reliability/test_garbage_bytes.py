"""Garbage bytes (issue 19): an answer holding a NUL, an escape sequence or bytes that are not UTF-8 (shown
as U+FFFD) never reaches the terminal raw; error messages escape them and keep their one-line form. On
0cd7804 ``GET ... -> HTTP 404; body: ...`` and the transport error of an HTTP/0.9-style answer held them raw."""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest
from _raw_cloud import serve

from pytest_cloudjob import CloudApiError, CloudContext, Job, User
from pytest_cloudjob.api.client import RetryPolicy
from pytest_cloudjob.api.errors import excerpt, printable

USER = User("tok-garbage-99a1c3e0")
GARBAGE = b'no\x00 such \xff\xfe job \x1b[2J\x07'


def _answer(status_line: bytes, body: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(status_line + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return answer


ANSWERS = {
    "404 with a garbage body": (_answer(b"HTTP/1.1 404 Not Found\r\n", b'{"error": "' + GARBAGE + b'"}'),
                                'GET /api/job/status/j -> HTTP 404; body: {"error": "no\\x00 such \\ufffd\\ufffd job '
                                '\\x1b[2J\\x07"}'),
    "200 that is not JSON": (_answer(b"HTTP/1.1 200 OK\r\n", GARBAGE),
                             "GET /api/job/status/j -> HTTP 200; response body is not JSON; body: no\\x00 such "
                             "\\ufffd\\ufffd job \\x1b[2J\\x07"),
    "HTTP/0.9-style garbage": (lambda conn, stop: conn.sendall(b"\x00\xff garbage \x1b[31m\x00\r\n\r\n"),
                               "GET /api/job/status/j -> transport error; no response"),
}


def _terminal_safe(text: str) -> bool:
    return text.isprintable() and "\ufffd" not in text


@pytest.mark.parametrize("case", list(ANSWERS))
def test_garbage_in_an_answer_is_escaped_in_the_error(case: str) -> None:
    answer, start = ANSWERS[case]
    url, stop, _ = serve(answer)
    try:
        with CloudContext(url, call_timeout=10, retry=RetryPolicy(attempts=1)) as context, \
                pytest.raises(CloudApiError) as info:
            Job(job_id="j").get_status(context, USER)
    finally:
        stop.set()
    message = str(info.value)
    assert message.startswith(start), message
    assert _terminal_safe(message), repr(message)


def test_printable_escapes_what_a_terminal_would_not_show() -> None:
    assert printable('{"a": "b"} é ü ✓') == '{"a": "b"} é ü ✓'  # ordinary text, accents included, kept
    assert printable("a\x00b\x1b[31mc\x7fd\ufffde\u200bf") == "a\\x00b\\x1b[31mc\\x7fd\\ufffde\\u200bf"
    assert excerpt("line one\nline two\x00") == "line one line two\\x00"
    assert _terminal_safe(excerpt({"k": "\x00\ufffd"}))
