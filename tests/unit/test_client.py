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
from pytest_cloudjob.api.cloud_objects.job_fields import FIELDS

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
    assert (job.status, job.owner) == ("running", "user")  # type: ignore[attr-defined]  # an extra field is an attribute at run time


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


# --- bounds: response size, call records, deadlines -----------------------------------------------------

def _listen(context: CloudContext) -> list:
    records: list = []
    context.api.listeners.append(records.append)
    return records


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "unknown-length"])
def test_a_body_above_the_limit_is_a_protocol_error_naming_the_setting_and_is_not_retried(user, declared):
    context = CloudContext(URL, max_response_bytes=1000, retry=RetryPolicy(attempts=3, backoff=0.001))
    with responses.RequestsMock() as rsps:
        rsps.get(f"{URL}/api/job/status/{JOB_ID}", body=b"x" * 1001, auto_calculate_content_length=declared)
        with pytest.raises(CloudApiError) as info:
            created().get_status(context, user)
        assert len(rsps.calls) == 1
    err = info.value
    assert err.kind == "protocol" and err.status == 200 and err.attempts == 1
    assert "limit of 1,000 bytes" in str(err) and "CloudContext(max_response_bytes=...)" in str(err)
    assert ("Content-Length 1,001 bytes" if declared else "stopped after reading 1,001 bytes") in str(err)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "unknown-length"])
def test_a_body_at_the_limit_is_read(user, declared):
    body = json.dumps({"status": "running", "progress_message": "x" * 900}).encode()
    context = CloudContext(URL, max_response_bytes=len(body))
    with responses.RequestsMock() as rsps:
        rsps.get(f"{URL}/api/job/status/{JOB_ID}", body=body, auto_calculate_content_length=declared)
        assert created().get_status(context, user)["status"] == "running"


def test_max_response_bytes_must_be_a_positive_integer():
    for bad in (0, -1, 1.5, True, "4MiB"):
        with pytest.raises(ValueError, match="max_response_bytes"):
            CloudContext(URL, max_response_bytes=bad)  # type: ignore[arg-type]  # wrong on purpose


def test_call_records_keep_small_bodies_whole_and_large_ones_as_an_excerpt(user, rsps):
    from pytest_cloudjob.api.client import RECORD_BODY_BYTES
    context = CloudContext(URL, max_response_bytes=4 * RECORD_BODY_BYTES)
    records = _listen(context)
    small = {"job_id": JOB_ID, "status": "running"}
    large = {"job_id": JOB_ID, "status": "running", "log": "y" * (2 * RECORD_BODY_BYTES)}
    rsps.get(f"{URL}/api/job/{JOB_ID}", json=small)
    rsps.get(f"{URL}/api/job/{JOB_ID}", json=large)
    job = created()
    assert job.read(context, user) == small
    assert job.read(context, user) == large  # the caller still gets the whole body
    first, second = records
    assert first.response_json == small and json.loads(first.response_text) == small
    assert not first.response_truncated and first.response_size == len(first.response_text)
    assert second.response_truncated and second.response_size > 2 * RECORD_BODY_BYTES
    assert len(second.response_text) == RECORD_BODY_BYTES and second.response_json is None
    assert second.response_text.startswith('{"job_id": ')


def test_no_retry_starts_that_could_not_end_before_the_deadline(user, rsps):
    import time

    from pytest_cloudjob.api.client import calls_end_by
    context = CloudContext(URL, retry=RetryPolicy(attempts=4, backoff=5.0, backoff_max=5.0))
    rsps.get(f"{URL}/api/job/{JOB_ID}", status=503, json={"error": "busy"})
    with calls_end_by(time.monotonic() + 1.0), pytest.raises(CloudApiError, match="HTTP 503") as info:
        created().read(context, user)
    assert info.value.attempts == 1 and len(rsps.calls) == 1


def test_the_earlier_of_two_nested_deadlines_holds():
    import time

    from pytest_cloudjob.api.deadline import calls_end_by, current_deadline
    now = time.monotonic()
    with calls_end_by(now + 1):
        with calls_end_by(now + 10):
            assert current_deadline() == now + 1
        with calls_end_by(now + 0.5):
            assert current_deadline() == now + 0.5
    assert current_deadline() is None


def test_a_context_closes_its_connections_when_used_as_a_context_manager(user, rsps):
    rsps.get(f"{URL}/api/job/{JOB_ID}", json={"job_id": JOB_ID})
    with CloudContext(URL) as context:
        created().read(context, user)
        api = context.api
    assert context.api is not api  # the pooled session was closed; a later use opens a new one
    context.close()


# --- Job fields: typos, hostile records ------------------------------------------------------------------

@pytest.mark.parametrize("typo,field", [("platfrom_name", "platform_name"), ("job_nme", "job_name"),
                                        ("pcvl_verison", "pcvl_version"), ("processid", "process_id"),
                                        ("jobid", "job_id"), ("paylaod", "payload")])
def test_a_misspelt_field_is_an_error_with_a_suggestion(typo, field):
    from pytest_cloudjob import CloudJobError
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{typo}': did you mean '{field}'") as info:
        Job(**{typo: "qpu:qa"})  # type: ignore[arg-type]  # a misspelt keyword on purpose
    assert isinstance(info.value, CloudJobError)


def test_extra_keywords_far_from_any_field_stay_accepted():
    job = Job(job_group_name="g", owner="me", priority=3)
    assert (job.job_group_name, job.owner, job.priority) == ("g", "me", 3)  # type: ignore[attr-defined]  # an extra field is an attribute at run time
    assert job.extra == {"job_group_name": "g", "owner": "me", "priority": 3}


def test_the_job_factory_inherits_the_typo_check(context, user):
    from pytest_cloudjob.run.job_factory import JobFactory
    factory = JobFactory(context, user, None, platform_name="sim:qa", pcvl_version="0.12.0", process_id="run")
    with pytest.raises(TypeError, match="did you mean 'platform_name'"):
        factory(platfrom_name="qpu:qa")
    assert factory(platform_name="qpu:qa").platform_name == "qpu:qa"


HOSTILE_RECORDS = [
    {"job_id": "a", "status": "running", "self": 1, "__class__": "x", "__init__": None, "__dict__": {}},
    {"job_id": "b", "status": "running", "create": "no", "get_status": 1, "history": [], "extra": "e",
     "wait_until": 0, "DEFAULT_PAYLOAD": None, "to_record": 1},
    {"job_id": "c", "status": "waiting", "not an identifier": 1, "a-b": 2, "class": 3, "1x": 4, "": 5},
    {"job_id": 42, "status": 7, "platform_name": None, "job_name": ["x"], "payload": "text", "pcvl_version": {},
     "process_id": True},
    {"id": "d", "status": ["running"]},
    {"status": None},
    {},
]


@pytest.mark.parametrize("record", HOSTILE_RECORDS)
def test_from_record_reads_any_record_without_breaking_the_job(record):
    job = Job.from_record(record)
    assert type(job) is Job and callable(job.create) and callable(job.get_status)
    assert isinstance(job.job_id, str) and isinstance(job.platform_name, str) and isinstance(job.payload, dict)
    status = getattr(job, "status", None)
    assert status is None or isinstance(status, str)
    assert isinstance(job.history.observations, list)
    for key, value in record.items():
        if key not in FIELDS:  # every field the Job does not map is kept as given
            assert job.extra[key] == value
    assert repr(job).startswith("Job(")


def test_from_record_maps_known_fields_and_keeps_the_rest():
    job = Job.from_record({"id": 5, "status": 3, "platform_name": "qpu:qa", "owner": "u", "self": "s",
                           "create": "c", "payload": {"command": "probs"}})
    assert (job.job_id, job.platform_name, job.status, job.owner) == ("5", "qpu:qa", "3", "u")  # type: ignore[attr-defined]  # an extra field is an attribute at run time
    assert job.payload == {"command": "probs"} and job.extra["create"] == "c" and job.extra["self"] == "s"
    assert job.to_record()["create"] == "c" and job.to_record()["status"] == "3"


def test_list_all_reads_hostile_records(context, admin, rsps):
    rsps.get(URL + "/api/admin/jobs", json=HOSTILE_RECORDS)
    jobs = Job.list_all(context, admin)
    assert [j.job_id for j in jobs] == ["a", "b", "c", "42", "d", "", ""]
    assert [getattr(j, "status", None) for j in jobs] == ["running", "running", "waiting", "7", '["running"]',
                                                          None, None]


# --- failures that explain themselves --------------------------------------------------------------------

def test_a_job_ending_in_error_says_the_clouds_failure_code_and_message(context, user, rsps):
    from pytest_cloudjob.api.waiting import UnexpectedEndError
    url = f"{URL}/api/job/status/{JOB_ID}"
    rsps.get(url, json={"status": "running", "progress": 0.5})
    rsps.get(url, json={"status": "error", "failure_code": "E_SIMULATOR", "status_message": "photon lost"})
    with pytest.raises(UnexpectedEndError) as info:
        created().wait_until(context, user, "completed", timeout=10)
    err = info.value
    assert "job ended as error (failure_code: E_SIMULATOR; status_message: photon lost)" in str(err)
    assert (err.failure_code, err.status_message) == ("E_SIMULATOR", "photon lost")


def test_results_data_are_the_decoded_results_text(context, user, rsps):
    rsps.get(f"{URL}/api/job/result/{JOB_ID}", json={"results": '{"results": {"|1,0>": 1000}}'})
    assert created().get_results_data(context, user) == {"results": {"|1,0>": 1000}}


def test_null_results_of_an_unfinished_job_say_its_status(context, user, rsps):
    from pytest_cloudjob.api.waiting import ResultsNotReadyError
    rsps.get(f"{URL}/api/job/result/{JOB_ID}", json={"results": None})
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", json={"status": "running", "progress": 0.1})
    with pytest.raises(ResultsNotReadyError, match="results are null: the job is running"):
        created().get_results_data(context, user)


@pytest.mark.parametrize("results,reason", [
    (None, "results are null although the job is completed"),
    ("not json{", "'results' is not JSON text"),
    ({"already": "an object"}, "'results' should be JSON text, got a JSON object"),
])
def test_results_that_break_the_protocol_are_protocol_errors(context, user, rsps, results, reason):
    rsps.get(f"{URL}/api/job/result/{JOB_ID}", json={"results": results})
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", json={"status": "completed", "progress": 1.0})
    with pytest.raises(CloudApiError, match=reason) as info:
        created().get_results_data(context, user)
    assert info.value.kind == "protocol"


def test_protocol_errors_show_the_body_as_json(context, user, rsps):
    rsps.post(URL + "/api/job", json={"job_id": None, "ok": True})
    with pytest.raises(CloudApiError, match=r'body: \{"job_id": null, "ok": true\}'):
        Job().create(context, user)


def test_a_compressed_body_is_bounded_by_its_decoded_size(user, rsps):
    import gzip
    bomb = gzip.compress(b" " * (8 * 1024 * 1024))  # 8 MiB of JSON whitespace in about 8 KiB on the wire
    context = CloudContext(URL, max_response_bytes=1024 * 1024)
    rsps.get(f"{URL}/api/job/status/{JOB_ID}", body=bomb, headers={"Content-Encoding": "gzip"},
             auto_calculate_content_length=True)
    with pytest.raises(CloudApiError, match="limit of 1,048,576 bytes") as info:
        created().get_status(context, user)
    assert info.value.kind == "protocol" and len(bomb) < 1024 * 1024


class _Connection:
    """What the watchdog sees of a pooled connection: its socket and the request that owns it."""

    def __init__(self) -> None:
        import socket
        self.sock, self.peer = socket.socketpair()


    def is_shut(self) -> bool:
        self.peer.settimeout(1.0)
        try:
            self.sock.sendall(b"x")
            return self.peer.recv(1) != b"x"
        except OSError:
            return True
        finally:
            self.sock.close()
            self.peer.close()


def test_the_watchdog_shuts_a_request_still_unanswered_after_its_deadline():
    import time

    from pytest_cloudjob.api.deadline import WATCHDOG
    conn = _Connection()
    WATCHDOG.watch(time.monotonic() + 0.05, conn)
    time.sleep(0.5)
    assert conn.is_shut()


def test_the_watchdog_never_shuts_an_answered_request_or_a_connection_taken_since():
    import time

    from pytest_cloudjob.api.deadline import WATCHDOG
    answered, reused, no_deadline = _Connection(), _Connection(), _Connection()
    WATCHDOG.release(WATCHDOG.watch(time.monotonic() + 0.05, answered))
    WATCHDOG.watch(time.monotonic() + 0.05, reused)
    WATCHDOG.watch(time.monotonic() + 60, reused)  # the next request on the same pooled connection
    WATCHDOG.watch(time.monotonic() + 0.05, no_deadline)
    WATCHDOG.disown(no_deadline)  # the next request has no deadline
    time.sleep(0.5)
    assert [c.is_shut() for c in (answered, reused, no_deadline)] == [False, False, False]
