"""Unit tests of the client layer against canned HTTP answers (``responses``): every method, every failure."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
import responses
from responses import matchers

from pytest_cloudjob import CloudApiError, CloudContext, Job, User
from pytest_cloudjob.api.client import RetryPolicy, parse_retry_after
from pytest_cloudjob.api.cloud_objects import Platform
from pytest_cloudjob.api.cloud_objects.cloud_job import default_process_id, set_default_process_id

URL = "http://cloud.test"
TOKEN = "tok-user-5f1c9a7e"
ADMIN_TOKEN = "tok-admin-77d2e410"
JOB_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def context() -> CloudContext:
    return CloudContext(URL, retry=RetryPolicy(attempts=3, backoff=0.001, backoff_max=0.002, retry_after_max=0.01))


@pytest.fixture
def user() -> User:
    return User(token=TOKEN)


@pytest.fixture
def admin() -> User:
    return User(token=ADMIN_TOKEN, is_admin=True)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def created(job_id: str = JOB_ID) -> Job:
    return Job(job_id=job_id)


def auth(token: str = TOKEN):
    return matchers.header_matcher({"Authorization": f"Bearer {token}"})


# --- the seed's constructor, constants and the unsafe defaults it had -------------------------------

def test_constructor_defaults_and_constants_match_the_seed():
    job = Job()
    assert (job.platform_name, job.job_name, job.pcvl_version, job.job_id) == ("sim:qa", "qa_job", "0.12.0", "")
    assert Job.DEFAULT_PLATFORM_NAME == "sim:qa"
    assert (Job.JOB_NAME_KEY, Job.PLATFORM_NAME_KEY, Job.PAYLOAD_KEY, Job.PCVL_VERSION_KEY, Job.PROCESS_ID_KEY) == (
        "job_name", "platform_name", "payload", "pcvl_version", "process_id")
    assert job.payload == Job.DEFAULT_PAYLOAD
    assert (Job.get_object_name(), Job.get_endpoint(), Job.get_token_method()) == ("job", "job", "get_token")


def test_two_jobs_never_share_a_payload():
    a, b = Job(), Job()
    a.payload["max_shots"] = 7
    a.payload["parameters"]["phi"] = 1.0
    assert b.payload["max_shots"] == 1000 and b.payload["parameters"] == {}
    assert Job.DEFAULT_PAYLOAD["parameters"] == {}


def test_a_given_payload_is_copied_not_aliased():
    mine = {"command": "probs"}
    job = Job(payload=mine)
    job.payload["command"] = "changed"
    assert mine == {"command": "probs"}


def test_extra_record_fields_become_attributes():
    job = Job(job_id="x", status="running", owner="user")
    assert (job.status, job.owner) == ("running", "user")


def test_process_id_is_one_per_process_and_can_be_set():
    assert Job().process_id == Job().process_id == default_process_id()
    assert Job(process_id="mine").process_id == "mine"
    old = default_process_id()
    try:
        set_default_process_id("run-42")
        assert Job().process_id == "run-42"
    finally:
        set_default_process_id(old)


def test_create_dict_default_is_not_shared_between_calls(context, user, rsps):
    rsps.post(URL + "/api/job", json={"job_id": "a"})
    job = Job()
    job.create(context, user)
    job.create(context, user, {"job_group_name": "g"})
    job.create(context, user)
    bodies = [json.loads(call.request.body) for call in rsps.calls]
    assert "job_group_name" in bodies[1] and "job_group_name" not in bodies[2]


# --- success paths ------------------------------------------------------------------------------------

def test_create_sends_the_perceval_body_with_the_token_and_keeps_the_id(context, user, rsps):
    rsps.post(URL + "/api/job", json={"job_id": JOB_ID}, match=[auth()])
    job = Job(platform_name="qpu:qa", process_id="run-1")
    job.create(context, user, {"job_group_name": "grp"})
    assert job.job_id == JOB_ID
    body = json.loads(rsps.calls[0].request.body)
    assert body == {"platform_name": "qpu:qa", "job_name": "qa_job", "payload": Job.DEFAULT_PAYLOAD,
                    "pcvl_version": "0.12.0", "process_id": "run-1", "job_group_name": "grp"}


def test_read_status_results_return_the_bodies(context, user, rsps):
    record = {"job_id": JOB_ID, "platform_name": "sim:qa", "status": "completed"}
    status = {"status": "completed", "progress": 1.0, "progress_message": "", "status_message": "",
              "failure_code": None, "creation_datetime": 1.0, "start_time": 2.0, "duration": 1}
    rsps.get(f"{URL}/api/job/{JOB_ID}", json=record, match=[auth()])
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", json=status, match=[auth()])
    rsps.get(f"{URL}/api/job/result/{JOB_ID}", json={"results": '{"|1,0>": 1000}'}, match=[auth()])
    job = created()
    assert job.read(context, user) == record
    assert job.get_status(context, user) == status
    assert job.history.statuses() == ["completed"]
    assert json.loads(job.get_results(context, user)["results"]) == {"|1,0>": 1000}


def test_cancel_posts_to_the_cancel_path(context, user, rsps):
    rsps.post(f"{URL}/api/job/cancel/{JOB_ID}", body="", match=[auth()])
    assert created().cancel(context, user) == {}
    assert rsps.calls[0].request.method == "POST"


def test_rerun_returns_a_new_job(context, user, rsps):
    rsps.post(f"{URL}/api/job/rerun/{JOB_ID}", json={"job_id": "new-id"})
    new = created().rerun(context, user)
    assert isinstance(new, Job) and new.job_id == "new-id"


def test_platform_details_on_both_paths(context, user, rsps):
    details = {"id": "1", "name": "sim:qa", "type": "simulator", "status": "available", "specs": {}, "perfs": {}}
    rsps.get(URL + "/api/platforms/sim%3Aqa/processor", json=details)
    rsps.get(URL + "/api/platform/sim%3Aqa", json=details)
    assert Platform("sim:qa").details(context, user) == details
    assert Platform("sim:qa").details(context, user, legacy=True) == details


def test_list_all_builds_jobs_and_passes_filters(context, admin, rsps):
    rsps.get(URL + "/api/admin/jobs", json=[{"job_id": "a", "status": "running", "platform_name": "sim:qa"},
                                            {"job_id": "b", "status": "waiting", "platform_name": "qpu:qa"}],
             match=[auth(ADMIN_TOKEN), matchers.query_param_matcher({"process_id": "run-1"})])
    jobs = Job.list_all(context, admin, process_id="run-1")
    assert [(j.job_id, j.status, j.platform_name) for j in jobs] == [("a", "running", "sim:qa"),
                                                                      ("b", "waiting", "qpu:qa")]


def test_cancel_many_sends_ids_and_returns_outcomes(context, admin, rsps):
    rsps.post(URL + "/api/admin/jobs/cancel", json={"results": {"a": "canceled", "b": "not_found"}},
              match=[auth(ADMIN_TOKEN), matchers.json_params_matcher({"job_ids": ["a", "b"]})])
    assert Job.cancel_many(context, [created("a"), created("b")], admin) == {"a": "canceled", "b": "not_found"}


def test_paths_are_one_setting_away(user, rsps):
    context = CloudContext(URL + "/", paths={"job_status": "/v2/jobs/{job_id}/state"})
    rsps.get(f"{URL}/v2/jobs/{JOB_ID}/state", json={"status": "waiting"})
    assert created().get_status(context, user)["status"] == "waiting"
    with pytest.raises(ValueError, match="unknown endpoint names"):
        CloudContext(URL, paths={"job_stat": "/x"})


# --- admin checks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [lambda c, u: Job.list_all(c, u), lambda c, u: Job.cancel_many(c, [], u)])
def test_admin_calls_refuse_a_regular_user_before_any_request(context, user, rsps, call):
    with pytest.raises(AssertionError, match="needs an admin user"):
        call(context, user)
    assert len(rsps.calls) == 0


def test_admin_check_survives_python_dash_O():
    code = ("from pytest_cloudjob import Job, User, CloudContext\n"
            "try:\n    Job.list_all(CloudContext('http://127.0.0.1:9'), User('t-regular'))\n"
            "except AssertionError:\n    print('refused')\n")
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", out.stderr


# --- failures --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 401, 403, 404, 500, 502, 503])
def test_every_http_error_is_a_runtime_error_in_one_line(context, user, rsps, status):
    rsps.get(f"{URL}/api/job/{JOB_ID}", json={"error": "nope"}, status=status)
    with pytest.raises(RuntimeError) as info:
        created().read(context, user)
    err = info.value
    assert isinstance(err, CloudApiError) and err.status == status and err.kind == "http"
    text = str(err)
    assert "\n" not in text and f"GET /api/job/{JOB_ID} -> HTTP {status}" in text and "nope" in text
    assert err.error_message == "nope"


@pytest.mark.parametrize("status", [400, 401, 404])
def test_create_errors_carry_status_and_body(context, user, rsps, status):
    rsps.post(URL + "/api/job", json={"error": f"bad {status}"}, status=status)
    job = Job()
    with pytest.raises(CloudApiError, match=f"POST /api/job -> HTTP {status}; body: .*bad {status}"):
        job.create(context, user)
    assert job.job_id == ""


def test_create_without_job_id_is_a_protocol_error(context, user, rsps):
    rsps.post(URL + "/api/job", json={"id": "x"})
    with pytest.raises(CloudApiError, match="without a 'job_id'") as info:
        Job().create(context, user)
    assert info.value.kind == "protocol"


def test_a_body_that_is_not_json_is_a_protocol_error(context, user, rsps):
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", body="<html>gateway</html>", status=200)
    with pytest.raises(CloudApiError, match="not JSON") as info:
        created().get_status(context, user)
    assert info.value.kind == "protocol" and "<html>gateway</html>" in str(info.value)


def test_a_status_body_with_an_unknown_status_is_refused(context, user, rsps):
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", json={"status": "finished"})
    with pytest.raises(RuntimeError, match="unknown status 'finished'"):
        created().get_status(context, user)


def test_timeouts_are_transport_errors_after_retries(context, user, rsps):
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(CloudApiError, match="transport error; timed out") as info:
        created().get_status(context, user)
    assert info.value.status is None and info.value.attempts == 3 and len(rsps.calls) == 3


def test_a_long_error_body_is_cut_to_an_excerpt(context, user, rsps):
    rsps.get(f"{URL}/api/job/{JOB_ID}", body="x" * 5000, status=500)
    with pytest.raises(CloudApiError) as info:
        created().read(context, user)
    assert len(str(info.value)) < 500


def test_calls_without_job_id_fail_before_any_request(context, user, rsps):
    with pytest.raises(RuntimeError, match="never created"):
        Job().get_status(context, user)
    assert len(rsps.calls) == 0


# --- retries follow idempotency -------------------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_reads_retry_transient_statuses(context, user, rsps, status):
    url = f"{URL}/api/job/status/{JOB_ID}"
    rsps.get(url, json={"error": "busy"}, status=status)
    rsps.get(url, json={"status": "running", "progress": 0.5})
    assert created().get_status(context, user)["status"] == "running"
    assert len(rsps.calls) == 2


def test_reads_retry_connection_errors(context, user, rsps):
    url = f"{URL}/api/job/result/{JOB_ID}"
    rsps.get(url, body=requests.ConnectionError("reset"))
    rsps.get(url, json={"results": None})
    assert created().get_results(context, user) == {"results": None}


def test_reads_give_up_after_the_policy_attempts(context, user, rsps):
    rsps.get(f"{URL}/api/job/{JOB_ID}", json={"error": "down"}, status=503)
    with pytest.raises(CloudApiError, match="HTTP 503.*after 3 attempts"):
        created().read(context, user)
    assert len(rsps.calls) == 3


def test_no_retry_for_non_transient_errors(context, user, rsps):
    rsps.get(f"{URL}/api/job/{JOB_ID}", json={"error": "gone"}, status=404)
    with pytest.raises(CloudApiError):
        created().read(context, user)
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("failure", [dict(status=503, json={"error": "busy"}),
                                     dict(body=requests.ConnectionError("reset"))])
def test_create_is_never_retried(context, user, rsps, failure):
    rsps.post(URL + "/api/job", **failure)
    rsps.post(URL + "/api/job", json={"job_id": "dup"})
    with pytest.raises(CloudApiError):
        Job().create(context, user)
    assert len(rsps.calls) == 1


def test_rerun_is_never_retried(context, user, rsps):
    rsps.post(f"{URL}/api/job/rerun/{JOB_ID}", status=503, json={"error": "busy"})
    with pytest.raises(CloudApiError):
        created().rerun(context, user)
    assert len(rsps.calls) == 1


def test_a_retried_cancel_that_finds_the_job_cancelled_counts_as_done(context, user, rsps):
    cancel = f"{URL}/api/job/cancel/{JOB_ID}"
    rsps.post(cancel, body=requests.ConnectionError("response lost"))
    rsps.post(cancel, json={"error": "job already ended"}, status=400)
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", json={"status": "canceled"})
    assert created().cancel(context, user) == {}


def test_a_first_time_cancel_refusal_is_an_error(context, user, rsps):
    rsps.post(f"{URL}/api/job/cancel/{JOB_ID}", json={"error": "job already ended"}, status=400)
    with pytest.raises(CloudApiError, match="HTTP 400"):
        created().cancel(context, user)


def test_retry_after_is_honoured(user, rsps, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("pytest_cloudjob.api.client.time.sleep", slept.append)
    context = CloudContext(URL, retry=RetryPolicy(attempts=3, backoff=0.1, retry_after_max=5))
    url = f"{URL}/api/job/{JOB_ID}"
    rsps.get(url, status=429, headers={"Retry-After": "2"}, json={})
    rsps.get(url, status=503, json={})
    rsps.get(url, json={"job_id": JOB_ID})
    created().read(context, user)
    assert slept == [2.0, 0.2]


def test_parse_retry_after_accepts_seconds_and_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# --- secrets -------------------------------------------------------------------------------------------------

def test_a_user_never_shows_its_token():
    u = User(token=TOKEN, is_admin=False, name="qa")
    assert TOKEN not in repr(u) and TOKEN not in str(u) and TOKEN not in f"{[u]}"
    assert u.get_token() == TOKEN


def test_no_token_in_any_error_text_even_when_the_server_echoes_it(context, user, rsps):
    echo = f"invalid token {TOKEN} (Authorization: Bearer {TOKEN})"
    rsps.get(f"{URL}/api/job/{TOKEN}", json={"error": echo}, status=401)
    with pytest.raises(CloudApiError) as info:
        Job(job_id=TOKEN).read(context, user)
    err = info.value
    for text in (str(err), repr(err), err.body, err.path, err.body_excerpt):
        assert TOKEN not in text
    assert "***" in str(err)


def test_no_token_in_transport_errors(context, user, rsps):
    rsps.get(f"{URL}/api/job/{JOB_ID}", body=requests.ConnectionError(f"header Bearer {TOKEN} refused"))
    with pytest.raises(CloudApiError) as info:
        created().read(context, user)
    assert TOKEN not in str(info.value)
