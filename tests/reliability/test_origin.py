"""R1 (issue 19): a request path can never send the bearer token anywhere but the cloud's URL.

A second loopback listener (the trap) stands where a hostile path would point: user-info, ``//host``, a
scheme, ``..`` segments, a backslash, their percent-encoded forms, control characters. Each path is refused
by ``Api.request`` before anything is sent (the cloud, a listener too here, gets no connection either), with
one line naming the path; a hostile job id the cloud chose is sent to the cloud as one encoded segment.
On 0cd7804 the URL was ``context.url + path``: ``@127.0.0.1:<trap>/stolen`` reached the trap with the token.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pytest_cloudjob import CloudApiError, CloudContext, CloudJobError, Job, User
from pytest_cloudjob.api.errors import UnsafeRequestPathError
from pytest_cloudjob.api.records import CallRecord
from pytest_cloudjob.api.urls import checked_path, join, segment
from pytest_cloudjob.server.process import RunningCloud

TOKEN = "tok-origin-8c1e55d2"


@dataclass
class Listener:
    """A plain TCP listener on 127.0.0.1 that records every connection and what it received."""

    sock: socket.socket
    connections: list[bytes] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def listeners() -> Iterator[tuple[Listener, Listener]]:
    """Two listeners: the trap a hostile path points at, and a stand-in cloud (both must stay untouched)."""
    made = []
    stop = threading.Event()
    threads = []
    for _ in range(2):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.settimeout(0.1)
        listener = Listener(sock)
        made.append(listener)

        def accept(listener: Listener = listener) -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.sock.accept()
                except OSError:
                    continue
                conn.settimeout(0.5)
                try:
                    listener.connections.append(conn.recv(4096))
                except OSError:
                    listener.connections.append(b"")
                conn.close()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        threads.append(thread)
    yield made[0], made[1]
    stop.set()
    for thread in threads:
        thread.join(5)
    for listener in made:
        listener.sock.close()


def hostile_paths(trap: int) -> list[str]:
    """Every form of a path that would leave the cloud's URL, pointed at the trap's port."""
    at = f"127.0.0.1:{trap}"
    return [
        f"@{at}/stolen", f"user:pw@{at}/stolen", f":{trap}/x", f".nip.io:{trap}/x",
        f"//{at}/x", f"///{at}/x", f"http://{at}/x", f"https://{at}/x", f"HTTP://{at}/x",
        "/../x", "/api/../../x", "/api/./x", "/..", f"/..//{at}/x",
        f"/\\\\{at}/x", f"\\\\{at}/x", "/api\\..\\..\\x",
        f"%40{at}/stolen", f"/%2f%2f{at}/x", f"%2f%2f{at}/x", f"/%2F{at}/x",
        "/api/%2e%2e/%2e%2e/x", "/api/%2E%2E%2F%2E%2E%2Fx", "/api/.%2e/x", "/%252e%252e/x", f"/%5c%5c{at}/x",
        f"/api\r\nHost: {at}", "/api x", "/api\x00", "\t/api", "/api\x7f", "/api\u2028x", "/api\u200bx",
        "/%00", "/a%0d%0aHost:%20x", "/a%20b", "/a%09", "",
    ]


@pytest.mark.parametrize("form", range(len(hostile_paths(1))))
def test_a_hostile_path_is_refused_before_anything_is_sent(listeners: tuple[Listener, Listener], form: int) -> None:
    trap, cloud = listeners
    path = hostile_paths(trap.port)[form]
    context = CloudContext(cloud.url, connect_timeout=0.5, read_timeout=0.5, call_timeout=2)
    with pytest.raises(UnsafeRequestPathError) as info:
        context.api.request("GET", path, TOKEN)
    message = str(info.value)
    assert "refused, not sent" in message and "\n" not in message and TOKEN not in message
    assert not any(ord(c) < 32 or c == "\x7f" for c in message)
    context.close()
    assert trap.connections == [] and cloud.connections == []


def test_the_refusal_is_a_usage_error_not_a_cloud_defect() -> None:
    with pytest.raises(UnsafeRequestPathError) as info:
        checked_path("GET", "@127.0.0.1:8999/stolen")
    error = info.value
    assert isinstance(error, CloudJobError) and isinstance(error, ValueError) and not isinstance(error, CloudApiError)
    # Nothing of a cloud defect's markers (reporting/allure_categories.py) nor of a transport error.
    assert "-> HTTP" not in str(error) and "-> protocol error" not in str(error) and "transport" not in str(error)
    assert str(error).startswith("GET '@127.0.0.1:8999/stolen' refused, not sent: it does not start with '/'")


def test_a_path_that_is_not_a_string_is_refused_in_one_line() -> None:
    for path in (["/api"], 7, None):
        with pytest.raises(UnsafeRequestPathError, match="not a string"):
            checked_path("GET", path)


def test_a_token_in_a_refused_path_is_masked() -> None:
    from pytest_cloudjob.redaction import register_secret
    register_secret(TOKEN)
    with pytest.raises(UnsafeRequestPathError) as info:
        checked_path("GET", f"@127.0.0.1:8999/{TOKEN}")
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("path", ["/../x", "/%2e%2e/x", "/api/../../../x"])
def test_a_path_cannot_climb_above_the_base_path(path: str) -> None:
    with pytest.raises(UnsafeRequestPathError):
        join("GET", "http://127.0.0.1:1/prefix", checked_path("GET", path))


def test_the_final_url_is_checked_as_urllib3_parses_it() -> None:
    # Under checked_path, join's own check refuses a URL whose parsed origin or path moved.
    with pytest.raises(UnsafeRequestPathError, match="another scheme, host, port or user-info"):
        join("GET", "http://127.0.0.1:1", "@127.0.0.1:2/x")
    with pytest.raises(UnsafeRequestPathError, match="not below the cloud URL's path"):
        join("GET", "http://127.0.0.1:1/prefix", "/../x")
    assert join("GET", "http://127.0.0.1:1/prefix", "/api/job", {"a": "b c"}) == "http://127.0.0.1:1/prefix/api/job?a=b+c"


@pytest.mark.parametrize("value", ["../../x", "..", ".", "@evil", "a/b", "x?y#z", "%2e%2e", "\\", "a b"])
def test_a_path_parameter_is_one_encoded_segment(value: str) -> None:
    encoded = segment(value)
    assert "/" not in encoded and "@" not in encoded and "?" not in encoded and encoded.strip(".") != ""
    assert "\\" not in encoded and " " not in encoded


def hostile_ids(trap: int) -> list[str]:
    at = f"127.0.0.1:{trap}"
    return ["../../x", "..", ".", f"@{at}/stolen", f"//{at}/x", f"http://{at}/x", "%2e%2e%2f%2e%2e",
            f"\\\\{at}\\x", "x\r\nHost: evil", "x?y=1#z", "%00"]


def test_a_hostile_job_id_goes_to_the_cloud_as_one_segment(reference_cloud: RunningCloud,
                                                            listeners: tuple[Listener, Listener]) -> None:
    trap, _ = listeners
    user = User(reference_cloud.tokens["user"])
    admin = User(reference_cloud.tokens["admin"], is_admin=True)
    calls: list[CallRecord] = []
    with CloudContext(reference_cloud.url, call_timeout=10) as context:
        context.api.listeners.append(calls.append)
        for job_id in hostile_ids(trap.port):
            job = Job(job_id=job_id)
            for method in (job.get_status, job.read, job.cancel, job.get_results, job.rerun):
                with pytest.raises(CloudApiError) as info:
                    method(context, user)
                # The cloud answered (an HTTP error for an unknown job): the call went there, nowhere else.
                assert info.value.status is not None and info.value.status >= 400, str(info.value)
            Job.cancel_many(context, [job], admin)
    assert trap.connections == []
    assert all(record.url.startswith(reference_cloud.url + "/api/") for record in calls)


def test_the_normal_paths_still_work(reference_cloud: RunningCloud, listeners: tuple[Listener, Listener]) -> None:
    trap, _ = listeners
    user = User(reference_cloud.tokens["user"])
    with CloudContext(reference_cloud.url, call_timeout=30) as context:
        job = Job(platform_name="sim:qa", payload={"command": "sample_count", "input_state": "|1,1,0>", "max_shots": 500},
                  process_id="tests")
        job.create(context, user)
        assert job.get_status(context, user)["status"]
        job.wait_until(context, user, timeout=30)
        assert job.get_results(context, user) is not None
        health = context.api.request("GET", "/health", None)
        assert health.status_code == 200
        odd = context.api.request("GET", f"/api/job/status/x@127.0.0.1:{trap.port}", user.get_token(),
                                  ok_statuses=frozenset({404}))
        assert odd.status_code == 404  # '@' inside a path is a path character, sent to the cloud
    assert trap.connections == []
