"""The protocol as a machine-readable document, and the reference cloud fuzzed against it.

``/openapi.json`` must describe the same endpoints as docs/protocol.md. Then Schemathesis generates
requests from that description (valid and invalid ones, with every role's token, on real and made-up job
ids) and Hypothesis adds raw hostile bodies; the reference cloud must answer every one without a 5xx and
as its description says, then still run a job from create to results.
"""
from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

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
            def send(case: schemathesis.Case) -> None:
                job_id = next(job_ids)
                if job_id is not None and "job_id" in (case.path_parameters or {}):
                    case.path_parameters["job_id"] = job_id  # a real job, so calls go past the 404
                token = next(roles)
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
