"""The protocol as a machine-readable document, and the reference cloud fuzzed against it.

``/openapi.json`` must describe the same endpoints as docs/protocol.md. Then Schemathesis generates
requests from that description (valid and invalid ones, with every role's token, on real and made-up job
ids) and Hypothesis adds raw hostile bodies; the reference cloud must answer every one without a 5xx and
as its description says, then still run a job from create to results. Hypothesis also fills the physics
fields the schema leaves open (``iterator``, ``heralds``, ``postselect``, ``noise``, ``circuit_params``,
``min_detected_photons``, zipped values): no create gets a 5xx, and no job it stores makes a later read fail.
"""
from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import re
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.core.parameters import ParameterLocation  # noqa: E402

from pytest_cloudjob.physics.simulate import MAX_PAYLOAD_UNZIPPED_BYTES  # noqa: E402
from pytest_cloudjob.server.process import RunningCloud, start_reference_cloud  # noqa: E402

PROTOCOL_DOC = Path(__file__).parents[2] / "docs" / "protocol.md"
EXAMPLES_PER_MODE = 70  # x 11 operations x 2 modes (valid, invalid) = 1,540 generated requests, plus raw bodies
RAW_BODIES = 600
# A schema-valid create may still be refused: a platform has limits (shots, modes) the protocol leaves to it.
NOT_PROMISED = [schemathesis.checks.positive_data_acceptance]
FUZZ_SETTINGS = settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, derandomize=True,
                         phases=[Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """A cloud of its own: fuzzing creates and cancels hundreds of jobs nobody else should see."""
    started = start_reference_cloud(tmp_path_factory.mktemp("fuzz") / "cloud.log", ["--run-time", "qpu:qa=0.5"])
    yield started
    assert started.stop() == 0, f"reference cloud did not stop cleanly; log: {started.log_path}"


def documented_endpoints() -> set[tuple[str, str]]:
    return {(m, p) for m, p in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/api/[^`\s]*)`", PROTOCOL_DOC.read_text())}


def test_openapi_is_served_without_a_token_and_lists_the_endpoints_of_protocol_md(cloud):
    document = requests.get(cloud.url + "/openapi.json", timeout=10).json()
    served = {(method.upper(), path) for path, calls in document["paths"].items() for method in calls}
    assert served == documented_endpoints()
    assert len(served) == 11 and document["openapi"].startswith("3.")


def test_the_document_printed_for_fuzzing_another_cloud_is_the_one_served(cloud):
    printed = subprocess.run([sys.executable, "-m", "pytest_cloudjob.server", "--print-openapi"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    assert json.loads(printed) == requests.get(cloud.url + "/openapi.json", timeout=10).json()


@pytest.mark.heavy(seconds=12)
def test_fuzzed_requests_never_get_a_5xx_and_answers_match_the_description(cloud):
    schema = schemathesis.openapi.from_url(cloud.url + "/openapi.json")
    session = requests.Session()
    tokens = cloud.tokens
    roles = itertools.cycle([tokens["user"], tokens["admin"], tokens["user"], tokens["admin"], tokens["other"],
                             None, "not-a-token"])
    job_ids = itertools.cycle([None, *(_a_job(cloud, session, platform, command)
                                       for platform, command in [("sim:qa", "probs"), ("sim:slow", "sample_count"),
                                                                 ("qpu:qa", "samples"), ("sim:qa", "teleport")])])
    answered: Counter[int] = Counter()
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(mode))
            def send(case) -> None:  # a schemathesis.Case
                job_id = next(job_ids)
                if job_id is not None and "job_id" in (case.path_parameters or {}):
                    case.path_parameters["job_id"] = job_id  # a real job, so calls go past the 404
                token = next(roles)
                header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
                if header is not None and header.mode.is_negative:
                    # the case's negation is its headers (no Authorization): a token added here would undo it and
                    # make the request valid, and schemathesis would call the answer "invalid data accepted"
                    token = None
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                try:
                    response = case.call_and_validate(base_url=cloud.url, session=session, headers=headers,
                                                      timeout=10, excluded_checks=NOT_PROMISED)
                except (AssertionError, schemathesis.core.failures.FailureGroup) as failure:  # checks: report all at the end
                    failures.append(f"{case.operation.label}: {str(failure)[:800]}\n{case.as_curl_command()}")
                    answered[0] += 1
                    return
                answered[response.status_code] += 1

            send()

    answered.update(_raw_hostile_bodies(cloud, session))
    total = sum(answered.values())
    assert total >= 2000, f"only {total} requests sent"
    assert not [status for status in answered if status >= 500], f"5xx answers: {answered}"
    assert not failures, f"{len(failures)} of {total} answers broke the description, first: {failures[0]}"
    _a_job_runs_from_create_to_results(cloud, session)


HOSTILE_VALUES = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"9" * 5000, b"-" + b"9" * 400,
                  b"[" * 5000 + b"]" * 5000, b"[" * 70 + b"]" * 70, b'{"a":' * 70 + b"1" + b"}" * 70,
                  b'"\\udc00"', b'"\xff\xfe"', b'"\x00"', b"1.5", b"true", b"null", b"[]", b'"' + b"x" * 10_000 + b'"']
BODY_TEMPLATES = [b'{"platform_name": "sim:qa", "payload": {"command": "probs", "max_shots": %s}}',
                  b'{"platform_name": "sim:qa", "payload": {"command": "probs", "job_context": {"k": %s}}}',
                  b'{"platform_name": "sim:qa", "job_name": %s, "payload": {"command": "probs"}}',
                  b'{"platform_name": "sim:qa", "extra": %s, "payload": {"command": "probs"}}',
                  b'{"job_ids": %s}', b'{"job_ids": ["x", %s]}', b"%s"]


def _raw_hostile_bodies(cloud: RunningCloud, session: requests.Session) -> Counter[int]:
    """Bodies no schema describes: arbitrary bytes, and JSON with non-JSON numbers, deep nesting, huge
    integers, invalid UTF-8 and lone surrogates put where a value goes, sent to the calls that read a body."""
    spliced = st.tuples(st.sampled_from(BODY_TEMPLATES), st.sampled_from(HOSTILE_VALUES)).map(lambda tv: tv[0] % tv[1])
    bodies = st.one_of(spliced, st.binary(max_size=300))
    answered: Counter[int] = Counter()
    calls = itertools.cycle([("/api/job", "user"), ("/api/admin/jobs/cancel", "admin")])

    @settings(max_examples=RAW_BODIES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def send(body: bytes) -> None:
        path, role = next(calls)
        response = session.post(cloud.url + path, data=body, timeout=10,
                                headers={"Authorization": f"Bearer {cloud.tokens[role]}",
                                         "Content-Type": "application/json"})
        answered[response.status_code] += 1
        assert response.status_code < 500, f"{response.status_code} for {body[:200]!r}: {response.text[:200]}"
        assert "error" in response.json() or response.status_code == 200

    send()
    return answered


def _a_job(cloud: RunningCloud, session: requests.Session, platform: str, command: str) -> str:
    response = session.post(cloud.url + "/api/job", timeout=10, headers={"Authorization": f"Bearer {cloud.tokens['user']}"},
                            json={"platform_name": platform, "payload": {"command": command, "max_shots": 10}})
    response.raise_for_status()
    return str(response.json()["job_id"])


def _a_job_runs_from_create_to_results(cloud: RunningCloud, session: requests.Session) -> None:
    """After the fuzzing, the cloud still serves: a job goes from create to completed, with results."""
    from pytest_cloudjob import CloudContext, Job, User

    ctx, user = CloudContext(cloud.url), User(cloud.tokens["user"])
    job = Job(platform_name="sim:qa", payload={"command": "sample_count", "max_shots": 100})
    job.create(ctx, user)
    job.wait_until(ctx, user, "completed", timeout=10)
    results = job.get_results(ctx, user)["results"]
    assert isinstance(results, str) and "results" in json.loads(results)
    admin = User(cloud.tokens["admin"], is_admin=True)
    active = [j for j in Job.list_all(ctx, admin) if j.status in ("waiting", "running")]
    Job.cancel_many(ctx, active, admin)  # leave nothing running behind the fuzzing


PHYSICS_CREATES = 300  # a few hundred: bounded in count, and in time by READ_BACK_WITHIN below
READ_BACK_WITHIN = 240.0  # seconds for every created job to end, on a busy machine (they take milliseconds)


def _zipped(text: bytes, prefix: str = ":PCVL:zip:") -> str:
    return prefix + base64.b64encode(zlib.compress(text)).decode()


def _serialized_values() -> list[str]:
    """Serialized Perceval values: valid ones (when Perceval is installed), broken ones, zipped ones, bombs."""
    values = [":PCVL:ACircuit:{}", "junk", "", "|1,1>", ":PCVL:BasicState:|1,1>", "|" + ",".join(["1"] * 13) + ">",
              "[0]==1", "[0,1]>3", ":PCVL:PostSelect:[0]==1", ":PCVL:zip:!!!", ":PCVL:zip:", ":PCVL:NoiseModel:{}",
              _zipped(b"junk"), _zipped(b":PCVL:BasicState:|1,0>")[:-6], _zipped(b"x" * (MAX_PAYLOAD_UNZIPPED_BYTES + 1)),
              _zipped(_zipped(b"0" * (MAX_PAYLOAD_UNZIPPED_BYTES + 1)).encode()), _zipped(b"junk", "pcvlar:zip:"),
              "pcvlar:zip:" + _zipped(b"0" * (MAX_PAYLOAD_UNZIPPED_BYTES + 1))[len(":PCVL:zip:"):]]
    try:
        import perceval as pcvl
        from perceval.serialization import serialize
    except ImportError:
        return values
    experiment = pcvl.Experiment(pcvl.BS())
    experiment.with_input(pcvl.BasicState([1, 1]))
    experiment.min_detected_photons_filter(2)
    parametrised = pcvl.Experiment(pcvl.BS(theta=pcvl.P("theta")))
    parametrised.with_input(pcvl.BasicState([1, 0]))
    zipped_experiment = serialize(experiment)  # Perceval zips experiments itself
    plain = zlib.decompress(base64.b64decode(zipped_experiment[len(":PCVL:zip:"):])).decode()
    return [*values, zipped_experiment, plain, _zipped(zipped_experiment.encode()), serialize(parametrised),
            serialize(pcvl.BS()), serialize(pcvl.BasicState([1, 1])), serialize(pcvl.PostSelect("[0]==1")),
            serialize(pcvl.NoiseModel(brightness=0.5, indistinguishability=0.9)), serialize(pcvl.NoiseModel(g2=0.9))]


def _physics_payloads() -> st.SearchStrategy[dict]:
    serialized = st.sampled_from(_serialized_values())
    numbers = st.sampled_from([-1, 0, 1, 2, 3, 6, 7, 1e20, -1e20, 0.5, True, None, "1", 10**18, 1e-300])
    junk = st.one_of(serialized, numbers, st.lists(numbers, max_size=2), st.dictionaries(st.text(max_size=3), numbers,
                                                                                          max_size=2))
    heralds = st.dictionaries(st.sampled_from(["0", "1", "2", "11", "12", "-1", "x", ""]), numbers, max_size=3)
    circuit_params = st.one_of(junk, st.dictionaries(st.sampled_from(["theta", "phi", ""]), numbers, max_size=2))
    iteration = st.fixed_dictionaries({}, optional={
        "circuit_params": circuit_params, "input_state": st.one_of(serialized, numbers),
        "min_detected_photons": numbers, "postselect": st.one_of(serialized, numbers),
        "noise": st.one_of(serialized, numbers), "max_shots": numbers, "max_samples": numbers})
    parameters = st.one_of(junk, st.fixed_dictionaries({}, optional={"min_detected_photons": numbers}))
    shots = st.sampled_from([1, 10, 1000, 100_000, 10**6])
    fields = {"heralds": st.one_of(heralds, junk), "postselect": st.one_of(serialized, numbers),
              "noise": st.one_of(serialized, junk), "iterator": st.one_of(junk, st.lists(iteration, max_size=3)),
              "parameters": parameters, "max_shots": shots, "max_samples": shots}
    commands = st.sampled_from(["probs", "sample_count", "samples", "teleport"])
    anything = st.fixed_dictionaries({"command": commands}, optional={
        "experiment": serialized, "circuit": serialized, "computation": st.one_of(serialized, junk),
        "input_state": st.one_of(serialized, numbers), **fields})
    # a payload a platform runs, with one or two hostile physics fields: creates that pass, jobs that simulate
    values = _serialized_values()
    runnable = [{"experiment": v} for v in values if v.startswith(":PCVL:zip:") and len(v) < 2000] + [
        {"circuit": v, "input_state": "|1,1>"} for v in values if "BS" in v or "Circuit" in v]
    almost = st.tuples(st.sampled_from(runnable), st.sampled_from(["probs", "sample_count", "samples"]),
                       st.sets(st.sampled_from(sorted(fields)), min_size=1, max_size=2)).flatmap(
        lambda t: st.fixed_dictionaries({k: fields[k] for k in sorted(t[2])}).map(
            lambda extra: {**t[0], "command": t[1], "max_shots": 100, **extra}))
    return st.one_of(anything, almost, almost)  # twice as many that may run


def test_fuzzed_physics_fields_never_get_a_5xx_and_no_stored_job_breaks_a_later_read(cloud):
    session = requests.Session()
    headers = {"Authorization": f"Bearer {cloud.tokens['user']}"}
    answered: Counter[int] = Counter()
    created: list[str] = []
    failures: list[str] = []

    @settings(max_examples=PHYSICS_CREATES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(payload=_physics_payloads())
    def send(payload: dict) -> None:
        response = session.post(cloud.url + "/api/job", json={"platform_name": "sim:qa", "payload": payload},
                                headers=headers, timeout=60)
        answered[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"create {response.status_code} {response.text[:200]} for {json.dumps(payload)[:400]}")
        elif response.status_code == 200:
            created.append(response.json()["job_id"])

    send()
    deadline = time.monotonic() + READ_BACK_WITHIN
    ends: Counter[str] = Counter()
    for job_id in created:
        while True:
            status = session.get(f"{cloud.url}/api/job/status/{job_id}", headers=headers, timeout=60)
            if status.status_code >= 500 or status.json()["status"] not in ("waiting", "running"):
                break
            assert time.monotonic() < deadline, f"job {job_id} still {status.json()['status']} at the deadline"
            time.sleep(0.05)
        ends[status.json().get("status", str(status.status_code)) if status.status_code < 500 else "5xx"] += 1
        for path in ("/api/job/status/", "/api/job/result/", "/api/job/"):
            read = session.get(f"{cloud.url}{path}{job_id}", headers=headers, timeout=60)
            if read.status_code >= 500:
                failures.append(f"GET {path}{job_id}: {read.status_code} {read.text[:200]}")
    assert answered[400] > 0 and len(created) > 20, f"the fuzz did not reach both sides: {answered}"
    if importlib.util.find_spec("perceval") is not None:  # Perceval installed: the cloud simulates
        simulated = session.get(cloud.url + "/health", timeout=60).json()["simulations"]
        assert simulated > 10, f"only {simulated} fuzzed jobs were simulated"
    assert not failures, f"{len(failures)} answers were 5xx ({answered}, jobs ended {ends}), first: {failures[0]}"
