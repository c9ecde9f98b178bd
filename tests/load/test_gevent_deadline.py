"""Under Locust the client runs monkey-patched by gevent: its deadline watchdog (a thread, then a greenlet)
must still cut an answer that trickles in inside every read timeout, for every concurrent user."""
from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
from _raw_cloud import serve

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gevent") is None,
                                reason="the load tests need Locust (and gevent): pip install 'pytest-cloudjob[load]'")

#: A whole answer takes about 25 s at 0.3 s a byte; the waits' deadline is 1 s.
CLIENT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import json, sys, time
    import gevent
    from pytest_cloudjob.api.client import CloudContext
    from pytest_cloudjob.api.cloud_objects import Job, User
    from pytest_cloudjob.api.waiting import WaitTimeoutError

    context = CloudContext(sys.argv[1])
    user = User(token="t0ken-for-the-trickling-cloud")

    def one(i):
        started = time.monotonic()
        try:
            Job(job_id=f"j-{i}").wait_until(context, user, "completed", timeout=1.0)
        except WaitTimeoutError as exc:
            return time.monotonic() - started, str(exc)
        return time.monotonic() - started, "no timeout"

    greenlets = [gevent.spawn(one, i) for i in range(10)]
    gevent.joinall(greenlets, timeout=60)
    print(json.dumps([g.value for g in greenlets]))
""")


@pytest.fixture
def trickling_cloud() -> Iterator[str]:
    """Answers every request one byte every 0.3 s, each read well inside the client's read timeout."""
    body = json.dumps({"status": "running", "progress": 0.1}).encode()
    answer_bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        for byte in answer_bytes:  # serve() ends it quietly when the client shuts the connection at its deadline
            if stop.wait(0.3):
                return
            conn.sendall(bytes([byte]))

    url, stop, _ = serve(answer)
    yield url
    stop.set()


def test_the_deadline_watchdog_cuts_a_trickling_answer_for_every_greenlet_under_gevent(trickling_cloud: str) -> None:
    result = subprocess.run([sys.executable, "-c", CLIENT, trickling_cloud], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(outcomes) == 10 and all(outcomes), result.stdout
    for elapsed, message in outcomes:
        # well before the 25 s the answer takes: the deadline held, in each greenlet
        assert elapsed < 10, (elapsed, message)
        assert "still arriving at the deadline" in message, message
