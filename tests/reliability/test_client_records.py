"""Hostile listing records from a real server on 127.0.0.1: ``Job.list_all`` (what the end-of-run sweep
calls) reads records whose field names are ``self``, ``__class__`` or method names, or not identifiers, and
whose known fields have the wrong types, and each job's status stays readable."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_cloudjob import CloudContext, Job, User

RECORDS = [
    {"job_id": "a", "status": "running", "self": "s", "__class__": "c", "__init__": 1, "__dict__": {}},
    {"job_id": "b", "status": "waiting", "create": 1, "cancel": None, "history": "h", "extra": [], "wait_until": 0},
    {"job_id": "c", "status": "finished", "not an identifier": 1, "a-b": 2, "": 3, "class": 4},
    {"id": 7, "status": {"nested": True}, "platform_name": ["sim:qa"], "payload": "text", "process_id": None},
]


class _Listing(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"jobs": RECORDS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def listing_cloud() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listing)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_list_all_reads_hostile_records_and_keeps_every_job_usable(listing_cloud: str) -> None:
    with CloudContext(listing_cloud) as context:
        jobs = Job.list_all(context, User("tok-records-admin", is_admin=True))
    assert [job.job_id for job in jobs] == ["a", "b", "c", "7"]
    assert [getattr(job, "status", None) for job in jobs] == ["running", "waiting", "finished", '{"nested": true}']
    for job, record in zip(jobs, RECORDS):
        assert type(job) is Job and callable(job.cancel) and callable(job.wait_until)
        assert job.history.observations == [] and isinstance(job.platform_name, str)
        assert all(job.extra[key] == value for key, value in record.items() if key not in ("job_id", "status"))
    assert jobs[0].self == "s" and jobs[3].id == 7  # type: ignore[attr-defined]  # an extra field is an attribute at run time
