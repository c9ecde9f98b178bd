"""The reference cloud over real HTTP, driven with the project's client: every endpoint and status code,
every transition, both roles, tenant isolation, and concurrent creates."""
from __future__ import annotations

import itertools
import json
import re
import select
import socket
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from pytest_cloudjob import CloudApiError, CloudContext, Job, User
from pytest_cloudjob.api.cloud_objects import Platform
from pytest_cloudjob.server.process import start_reference_cloud

FAST = {"command": "sample_count", "input_state": "|1,1,0>", "max_shots": 500}


def new_job(ctx, user, platform="sim:qa", payload=None, **kw) -> Job:
    job = Job(platform_name=platform, payload=payload or FAST, process_id=kw.pop("process_id", "tests"), **kw)
    job.create(ctx, user)
    return job


def raw(reference_cloud, method, path, token=None, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, reference_cloud.url + path, headers=headers, timeout=10, **kw)


# --- lifecycle -------------------------------------------------------------------------------------------

def test_a_sim_job_goes_waiting_running_completed_with_results_summing_to_max_shots(ctx, user):
    job = new_job(ctx, user)
    first = job.get_status(ctx, user)
    assert first["status"] in ("waiting", "running")
    final = job.wait_until(ctx, user, "completed", timeout=10)
    assert final["progress"] == 1.0 and final["failure_code"] is None
    assert isinstance(final["creation_datetime"], float) and final["start_time"] >= final["creation_datetime"]
    assert isinstance(final["duration"], int)
    assert set(job.history.statuses()) <= {"waiting", "running", "completed"}
    body = job.get_results(ctx, user)
    results = json.loads(body["results"])
    assert sum(results["results"].values()) == 500
    assert all(state.count(",") == 2 and sum(map(int, state[1:-1].split(","))) == 2 for state in results["results"])


def test_results_are_null_before_completion_and_reproducible_for_a_rerun(ctx, user):
    job = new_job(ctx, user, "sim:slow")
    assert job.get_results(ctx, user)["results"] is None
    job.cancel(ctx, user)
    job.wait_until(ctx, user, "canceled", timeout=5)
    rerun = job.rerun(ctx, user)
    assert rerun.job_id != job.job_id
    assert rerun.read(ctx, user)["rerun_of"] == job.job_id
    rerun.cancel(ctx, user)


def test_the_record_read_back_matches_what_was_sent(ctx, user):
    job = Job(platform_name="sim:qa", job_name="my_name", payload=FAST, pcvl_version="1.3.1", process_id="p-1")
    job.create(ctx, user, {"job_group_name": "group-a"})
    record = job.read(ctx, user)
    assert {k: record[k] for k in ("job_id", "platform_name", "job_name", "pcvl_version", "process_id", "payload",
                                   "job_group_name", "owner")} == {
        "job_id": job.job_id, "platform_name": "sim:qa", "job_name": "my_name", "pcvl_version": "1.3.1",
        "process_id": "p-1", "payload": FAST, "job_group_name": "group-a", "owner": "user"}
    assert record["status"] in ("waiting", "running", "completed")


@pytest.mark.parametrize("command,check", [
    ("probs", lambda r: abs(sum(r.values()) - 1.0) < 1e-9),
    ("samples", lambda r: isinstance(r, list) and len(r) == 500),
])
def test_other_commands_give_their_kind_of_results(ctx, user, command, check):
    job = new_job(ctx, user, payload={**FAST, "command": command})
    job.wait_until(ctx, user, "completed", timeout=10)
    assert check(json.loads(job.get_results(ctx, user)["results"])["results"])


def test_an_unknown_command_ends_in_error_with_a_failure_code_and_can_be_rerun(ctx, user):
    job = new_job(ctx, user, payload={"command": "teleport"})
    status = job.wait_until(ctx, user, "error", timeout=10)
    assert status["failure_code"] == "UNKNOWN_COMMAND" and "teleport" in status["status_message"]
    assert job.get_results(ctx, user)["results"] is None
    assert new_job(ctx, user).job_id  # the cloud still works
    assert job.rerun(ctx, user).job_id != job.job_id


# --- cancel ----------------------------------------------------------------------------------------------

def test_cancel_while_running_goes_through_cancel_requested(ctx, user):
    job = new_job(ctx, user, "sim:slow")
    job.wait_until(ctx, user, "running", timeout=5)
    answer = job.cancel(ctx, user)
    assert answer["status"] == "cancel_requested"
    assert job.get_status(ctx, user)["status"] in ("cancel_requested", "canceled")
    job.wait_until(ctx, user, "canceled", timeout=5)
    assert job.get_status(ctx, user)["duration"] is not None


def test_cancel_while_waiting_cancels_at_once_and_frees_the_queue(ctx, user):
    blocker = new_job(ctx, user, "qpu:qa")
    queued = new_job(ctx, user, "qpu:qa")
    behind = new_job(ctx, user, "qpu:qa")
    assert queued.get_status(ctx, user)["status"] == "waiting"
    assert queued.cancel(ctx, user)["status"] == "canceled"
    assert queued.get_status(ctx, user)["status"] == "canceled"
    blocker.cancel(ctx, user)
    behind.wait_until(ctx, user, "running", timeout=5)
    behind.cancel(ctx, user)


def test_qpu_runs_one_job_at_a_time(ctx, user):
    jobs = [new_job(ctx, user, "qpu:qa") for _ in range(3)]
    statuses = [j.get_status(ctx, user)["status"] for j in jobs]
    assert statuses.count("running") <= 1 and statuses[1:] == ["waiting", "waiting"]
    for j in jobs:
        j.cancel(ctx, user)


def test_cancel_of_an_ended_job_is_refused_with_400(ctx, user):
    job = new_job(ctx, user)
    job.wait_until(ctx, user, "completed", timeout=10)
    with pytest.raises(CloudApiError) as info:
        job.cancel(ctx, user)
    assert info.value.status == 400 and "already ended (completed)" in (info.value.error_message or "")


def test_rerun_of_a_job_that_did_not_fail_is_refused_with_400(ctx, user):
    job = new_job(ctx, user)
    job.wait_until(ctx, user, "completed", timeout=10)
    with pytest.raises(CloudApiError, match="HTTP 400"):
        job.rerun(ctx, user)


# --- platforms -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("name,kind", [("sim:qa", "simulator"), ("sim:slow", "simulator"), ("qpu:qa", "physical")])
def test_platform_details_on_both_paths(ctx, user, name, kind, legacy):
    details = Platform(name).details(ctx, user, legacy=legacy)
    assert details["name"] == name and details["type"] == kind and details["status"] == "available"
    assert "sample_count" in details["specs"]["available_commands"]
    assert details["specs"]["constraints"]["max_photon_count"] >= 1


def test_unknown_platform_is_404_for_details_and_create(ctx, user):
    with pytest.raises(CloudApiError, match="HTTP 404"):
        Platform("qpu:nowhere").details(ctx, user)
    with pytest.raises(CloudApiError) as info:
        new_job(ctx, user, "qpu:nowhere")
    assert info.value.status == 404 and "unknown platform 'qpu:nowhere'" in (info.value.error_message or "")


# --- auth, roles, isolation ------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("POST", "/api/job"), ("GET", "/api/job/x"), ("GET", "/api/job/status/x"), ("GET", "/api/job/result/x"),
    ("POST", "/api/job/cancel/x"), ("POST", "/api/job/rerun/x"), ("GET", "/api/platforms/sim:qa/processor"),
    ("GET", "/api/platform/sim:qa"), ("GET", "/api/admin/jobs"), ("POST", "/api/admin/jobs/cancel"),
    ("GET", "/api/jobs/availability"),
])
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_endpoint_refuses_no_token_and_a_wrong_token_with_401(reference_cloud, method, path, token):
    response = raw(reference_cloud, method, path, token, json={})
    assert response.status_code == 401 and "token" in response.json()["error"]


def test_admin_calls_by_a_regular_user_are_403(reference_cloud, ctx, user):
    assert raw(reference_cloud, "GET", "/api/admin/jobs", user.get_token()).status_code == 403
    response = raw(reference_cloud, "POST", "/api/admin/jobs/cancel", user.get_token(), json={"job_ids": []})
    assert response.status_code == 403 and response.json() == {"error": "this call needs an admin token"}


def test_one_users_job_is_invisible_to_another_but_visible_to_the_admin(ctx, user, other, admin):
    job = new_job(ctx, user, "sim:slow")
    for call in (job.read, job.get_status, job.get_results, job.cancel, job.rerun):
        with pytest.raises(CloudApiError) as info:
            call(ctx, other)
        assert info.value.status == 404
    assert job.get_status(ctx, user)["status"] in ("waiting", "running")  # the other's cancel did nothing
    assert job.read(ctx, admin)["owner"] == "user"
    job.cancel(ctx, admin)
    job.wait_until(ctx, user, "canceled", timeout=5)


def test_an_unknown_job_is_404(ctx, user):
    with pytest.raises(CloudApiError, match="HTTP 404"):
        Job(job_id=str(uuid.uuid4())).get_status(ctx, user)


# --- admin listing and cancel-many -------------------------------------------------------------------------

def test_admin_listing_filters_and_cancel_many(ctx, user, other, admin):
    run = f"run-{uuid.uuid4()}"
    mine = [new_job(ctx, user, "sim:slow", process_id=run) for _ in range(2)]
    theirs = new_job(ctx, other, "sim:slow", process_id=run)
    fast = new_job(ctx, user, "sim:qa", process_id=run)
    fast.wait_until(ctx, user, "completed", timeout=10)

    listed = Job.list_all(ctx, admin, process_id=run)
    assert {j.job_id for j in listed} == {j.job_id for j in mine + [theirs, fast]}
    assert all(isinstance(j, Job) and j.process_id == run for j in listed)
    by_owner = Job.list_all(ctx, admin, process_id=run, owner="other")
    assert [j.job_id for j in by_owner] == [theirs.job_id]
    slow = Job.list_all(ctx, admin, process_id=run, platform_name="sim:slow")
    assert {j.job_id for j in slow} == {j.job_id for j in mine + [theirs]}
    done = Job.list_all(ctx, admin, process_id=run, status="completed")
    assert [j.job_id for j in done] == [fast.job_id] and done[0].status == "completed"

    outcomes = Job.cancel_many(ctx, mine + [theirs, fast, Job(job_id="missing")], admin)
    assert outcomes == {mine[0].job_id: "cancel_requested", mine[1].job_id: "cancel_requested",
                        theirs.job_id: "cancel_requested", fast.job_id: "already_completed",
                        "missing": "not_found"}
    for job in mine:
        job.wait_until(ctx, user, "canceled", timeout=5)
    assert Job.list_all(ctx, admin, process_id=run, status="running") == []


def test_admin_listing_refuses_bad_filters(reference_cloud, admin):
    assert raw(reference_cloud, "GET", "/api/admin/jobs?status=done", admin.get_token()).status_code == 400
    assert raw(reference_cloud, "GET", "/api/admin/jobs?colour=red", admin.get_token()).status_code == 400


def test_cancel_many_refuses_a_bad_body(reference_cloud, admin):
    for body in ({}, {"job_ids": "a"}, {"job_ids": [1]}):
        response = raw(reference_cloud, "POST", "/api/admin/jobs/cancel", admin.get_token(), json=body)
        assert response.status_code == 400 and "job_ids" in response.json()["error"]


# --- input checks -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,status,message", [
    (b"{not json", 400, "body is not JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b'"text"', 400, "must be a JSON object"),
    (b"{}", 400, "'platform_name' is required"),
    (b'{"platform_name": 3, "payload": {"command": "probs"}}', 400, "'platform_name' is required"),
    (b'{"platform_name": "sim:qa"}', 400, "'payload' is required"),
    (b'{"platform_name": "sim:qa", "payload": []}', 400, "'payload' is required"),
    (b'{"platform_name": "sim:qa", "payload": {}}', 400, "'payload.command' is required"),
    (b'{"platform_name": "sim:qa", "payload": {"command": 5}}', 400, "'payload.command' is required"),
    (b'{"platform_name": "sim:qa", "payload": {"command": "probs", "max_shots": "10"}}', 400,
     "'payload.max_shots' must be an integer"),
    (b'{"platform_name": "sim:qa", "payload": {"command": "probs", "max_shots": true}}', 400,
     "'payload.max_shots' must be an integer"),
    (b'{"platform_name": "sim:qa", "payload": {"command": "probs", "max_shots": 0}}', 400, "between 1 and"),
    (b'{"platform_name": "sim:qa", "job_name": 7, "payload": {"command": "probs"}}', 400,
     "'job_name' must be a string"),
    (b'{"platform_name": "sim:qa", "payload": {"command": "probs", "job_context": [1]}}', 400,
     "'payload.job_context' must be an object or null, got list"),
    (b'{"platform_name": "sim:nope", "payload": {"command": "probs"}}', 404, "unknown platform"),
])
def test_bad_create_bodies_are_refused_and_nothing_is_stored(reference_cloud, user, admin, body, status, message):
    before = raw(reference_cloud, "GET", "/health").json()["jobs"]
    response = raw(reference_cloud, "POST", "/api/job", user.get_token(), data=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert raw(reference_cloud, "GET", "/health").json()["jobs"] == before


CREATE_PREFIX = b'{"platform_name": "sim:qa", "payload": {"command": "probs", '


@pytest.mark.parametrize("body,message", [
    (b'{"platform_name": "sim:\xff\xfe", "payload": {"command": "probs"}}', "body is not UTF-8 (invalid byte at offset 23)"),
    (CREATE_PREFIX + b'"max_shots": ' + b"9" * 5000 + b"}}", "an integer of 5000 digits"),
    (CREATE_PREFIX + b'"x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}", "nested deeper than 64 levels"),
    (CREATE_PREFIX + b'"x": ' + b"[" * 80 + b"]" * 80 + b"}}", "nested deeper than 64 levels"),
    (CREATE_PREFIX + b'"job_context": {"w": NaN}}}', "NaN is not a JSON number"),
    (CREATE_PREFIX + b'"x": -Infinity}}', "-Infinity is not a JSON number"),
    (CREATE_PREFIX + b'"x": 1e400}}', "the number 1e400 is out of range"),
    (CREATE_PREFIX + b'"x": "\\ud800"}}', "lone UTF-16 surrogate"),
    (b'{"platform_name": "sim:qa", "job_name": 1.5, "payload": {"command": "probs"}}', "'job_name' must be a string"),
])
def test_hostile_create_bodies_get_a_400_naming_the_problem_and_store_nothing(reference_cloud, user, body, message):
    before = raw(reference_cloud, "GET", "/health").json()["jobs"]
    response = raw(reference_cloud, "POST", "/api/job", user.get_token(), data=body)
    assert response.status_code == 400 and message in response.json()["error"]
    assert raw(reference_cloud, "GET", "/health").json()["jobs"] == before


def test_a_refused_nan_leaves_every_read_of_the_listing_working(reference_cloud, ctx, user, admin):
    raw(reference_cloud, "POST", "/api/job", user.get_token(), data=CREATE_PREFIX + b'"x": NaN}}')
    job = new_job(ctx, user)
    assert job.read(ctx, user)["payload"] == FAST and job.get_status(ctx, user)["status"]
    assert raw(reference_cloud, "GET", "/api/admin/jobs", admin.get_token()).status_code == 200


def test_cancel_many_refuses_a_hostile_body_with_400(reference_cloud, admin):
    for body in (b'{"job_ids": [NaN]}', b'{"job_ids": "\xff"}', b'{"job_ids": ' + b"[" * 100 + b"]" * 100 + b"}"):
        response = raw(reference_cloud, "POST", "/api/admin/jobs/cancel", admin.get_token(), data=body)
        assert response.status_code == 400 and "body" in response.json()["error"]


def _http_exchange(url: str, head: bytes, chunks: Iterable[bytes] = ()) -> tuple[bytes, int]:
    """Send ``head`` then ``chunks`` until the server answers; return its answer and the body bytes sent."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except OSError:  # the server closed the connection after answering: read what it said
                break
            sent += len(chunk)
        answer = b""
        while not _complete(answer):
            try:
                part = sock.recv(65536)
            except OSError:
                break
            if not part:
                break
            answer += part
    return answer, sent


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    return bool(separator) and length is not None and len(body) >= int(length.group(1))


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+)", status)
    assert match, status
    return int(match.group(1))


def test_a_body_announced_too_large_is_refused_413_before_it_is_sent(reference_cloud, user):
    head = (f"POST /api/job HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {user.get_token()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {1 << 30}\r\n\r\n").encode()
    answer, _ = _http_exchange(reference_cloud.url, head)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's RSS from /proc")
def test_a_chunked_upload_of_a_gibibyte_is_cut_at_the_limit_without_buffering_it(reference_cloud, user):
    rss_before = _rss_kib(reference_cloud.process.pid)
    head = (f"POST /api/job HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {user.get_token()}\r\n"
            f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
    answer, sent = _http_exchange(reference_cloud.url, head, itertools.repeat(chunk, 1024))  # up to 1 GiB
    assert answer.startswith(b"HTTP/1.1 413 ") and b"body larger than 1048576 bytes" in answer
    assert sent < 64 << 20, f"the server read {sent >> 20} MiB before refusing"
    assert _rss_kib(reference_cloud.process.pid) - rss_before < 32 << 10
    assert raw(reference_cloud, "GET", "/health").status_code == 200


def test_availability_counts_the_accounts_active_jobs(tmp_path):
    # a cloud of its own: on the session's, a job another test left running may end mid-test and change the count
    reference_cloud = start_reference_cloud(tmp_path / "cloud.log")
    try:
        ctx = CloudContext(reference_cloud.url)
        user = User(token=reference_cloud.tokens["user"], name="user")
        other = User(token=reference_cloud.tokens["other"], name="other")
        _availability_is_counted(ctx, user, other, reference_cloud)
    finally:
        assert reference_cloud.stop() == 0


def _availability_is_counted(ctx, user, other, reference_cloud):
    def availability(account):
        response = raw(reference_cloud, "GET", "/api/jobs/availability", account.get_token())
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"max_jobs_in_queue", "num_jobs_in_queue"}
        return body["num_jobs_in_queue"], body["max_jobs_in_queue"]

    (mine, limit), (theirs, _) = availability(user), availability(other)
    job = new_job(ctx, user, "sim:slow")
    assert availability(user) == (mine + 1, limit) and availability(other)[0] == theirs
    job.cancel(ctx, user)
    job.wait_until(ctx, user, "canceled", timeout=5)
    assert availability(user)[0] == mine and limit >= 1


def test_an_unknown_route_answers_json_404(reference_cloud, user):
    response = raw(reference_cloud, "GET", "/api/nothing", user.get_token())
    assert response.status_code == 404 and "error" in response.json()


# --- concurrency ---------------------------------------------------------------------------------------------

def test_concurrent_creates_from_threads_lose_and_duplicate_nothing(reference_cloud, user, admin):
    run = f"conc-{uuid.uuid4()}"

    def create_many(_: int) -> list[str]:
        ctx = CloudContext(reference_cloud.url)  # one session per thread, as xdist workers would have
        ids = []
        for _ in range(25):
            job = Job(payload=FAST, process_id=run)
            job.create(ctx, user)
            ids.append(job.job_id)
        return ids

    with ThreadPoolExecutor(8) as pool:
        ids = [i for chunk in pool.map(create_many, range(8)) for i in chunk]
    assert len(ids) == 200 and len(set(ids)) == 200
    listed = Job.list_all(CloudContext(reference_cloud.url), admin, process_id=run)
    assert sorted(j.job_id for j in listed) == sorted(ids)
