"""A mistake of the scenario or of the configuration is never filed as a cloud defect: it is a harness error
(or a usage error before any test) that names its ``file:line`` and, for a typo, the nearest right name.
Runs are in-process, against the session's cloud."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.usefixtures("clean_environment")

HARNESS = "harness error (the scenario, not the cloud): "

MISTAKES = """
name: a typo in a request path
steps:
  - request: {path: /api/job/statuss/no-such-job, expect: {status: 200}}
---
name: a 404 on a path outside the protocol that the scenario expects
steps:
  - request: {path: /api/no-such-endpoint, expect: {status: 404}}
---
name: a protocol path whose 404 breaks the expectation
steps:
  - request: {path: /api/job/status/no-such-job, expect: {status: 200}}
---
name: a typo in a saved field
steps:
  - platform: {save: {kind: typ}}
---
name: a field the answer lacks
steps:
  - platform: {save: {kind: no_such_field_at_all}}
---
name: an unset variable of the environment
steps:
  - create: {job_name: "{env.QA_SURELY_NOT_SET_4E1F}", save: job}
---
name: a list index past the end
steps:
  - create: {count: 2, save: jobs}
  - request: {path: "/api/job/status/{jobs.5.id}"}
---
name: a field of a row's number
parametrize:
  - {shots: 3}
steps:
  - create: {payload: {command: sample_count, max_shots: "{vars.shots.value}"}, save: job}
"""


def failures_by_test(result) -> dict[str, str]:
    """Each failed test's whole failure text, keyed by the scenario's name."""
    text = result.stdout.str()
    sections = re.split(r"^_+ scenario: (.+?) \[sim:qa\] _+$", text, flags=re.M)
    return {name: body.split("\n-----", 1)[0].strip() for name, body in zip(sections[1::2], sections[2::2])}


def test_scenario_mistakes_are_harness_errors_with_file_line_and_the_nearest_name(pytester, against):
    path = pytester.makefile(".scenario.yaml", mistakes=MISTAKES)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=7)
    failed = failures_by_test(result)
    assert failed["a typo in a request path"].startswith(
        f"{HARNESS}{path}:3: step 1 (request): GET /api/job/statuss/no-such-job answered 404, and "
        "/api/job/statuss/no-such-job is not a path of the protocol (did you mean '/api/job/status/{job_id}'?): a typo "
        "in the scenario's path (or an endpoint this cloud does not have), not a cloud defect; the protocol's paths: "
        "/api/admin/jobs, ")
    assert failed["a protocol path whose 404 breaks the expectation"].startswith(
        f"{path}:11: step 1 (request) failed on sim:qa\n  request.status: expected 200, got 404")  # the cloud judged
    assert failed["a typo in a saved field"] == (
        f"{HARNESS}{path}:15: step 1 (platform): cannot save: save kind: typ: no field 'typ' (did you mean 'type'?) "
        "(fields: id, name, type, status, specs, perfs, waiting_jobs_limit, concurrency): a typo in the scenario's "
        "save: path, not a cloud defect")
    assert failed["a field the answer lacks"].startswith(
        f"{path}:19: step 1 (platform) failed on sim:qa\n  cannot save: save kind: no_such_field_at_all: no field")
    assert failed["an unset variable of the environment"] == (
        f"{HARNESS}{path}:23: step 1 (create): {{env.QA_SURELY_NOT_SET_4E1F}}: the environment variable "
        "QA_SURELY_NOT_SET_4E1F is not set")
    assert failed["a list index past the end"] == (
        f"{HARNESS}{path}:28: step 2 (request): {{jobs.5.id}}: '5' is not an index of a list of 2")
    assert failed["a field of a row's number[shots=3]"] == (
        f"{HARNESS}{path}:34: step 1 (create): {{vars.shots.value}}: cannot take 'value' of int 3")


def test_a_misspelt_ini_key_stops_the_run_naming_the_right_one(pytester, against):
    pytester.makeini("[pytest]\ncloud_platform = qpu:qa\n")
    pytester.makepyfile("def test_x(cloud_platform): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini cloud_platform: not a setting of pytest-cloudjob (did you mean "
                                 "'cloud_platforms'?); its ini keys are cloud_alpha, *(docs/configuration.md)"])


def test_an_unknown_platform_names_the_ones_the_cloud_has(pytester, against):
    pytester.makepyfile("def test_x(cloud_platform): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--cloud-platform", "sim:qa", "--cloud-platform", "qpu:qaa")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert re.search(r"unknown platform 'qpu:qaa' on \S+ \(--cloud-url / CLOUDJOB_URL\): the cloud answered 404 "
                     r"\(--cloud-platform / CLOUDJOB_PLATFORMS / cloud_platforms\); of this run's platforms it knows "
                     r"sim:qa, sim:slow \(the protocol has no listing of platforms: its operators know their names\)",
                     output), output


def test_https_to_a_plain_http_cloud_says_so(pytester, against):
    pytester.makepyfile("def test_x(cloud_user): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--cloud-url", against.url.replace("http://", "https://"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "the server answered in plain HTTP, not TLS: this cloud speaks http://, so give its URL with http:// " \
           "instead of https://" in output, output
    assert "attempts" not in output, "a plain-HTTP answer is permanent: not retried"


def test_a_misspelt_variable_of_ours_is_warned_about_with_the_right_name(pytester, against, monkeypatch):
    monkeypatch.setenv("CLOUDJOB_PLATFORM", "qpu:qa")
    monkeypatch.setenv("CLOUDJOB_REF_USER_TOKEN", "not ours to judge")  # the reference cloud's own
    pytester.makepyfile("def test_x(cloud_platform): assert cloud_platform == 'sim:qa'")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PytestConfigWarning: CLOUDJOB_PLATFORM is not a variable of pytest-cloudjob and is "
                                 "ignored (did you mean CLOUDJOB_PLATFORMS?)"])
    assert "CLOUDJOB_REF_USER_TOKEN" not in result.stdout.str()
