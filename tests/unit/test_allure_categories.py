"""Allure's categories key on the wording of our own messages: each is checked here against the message the
code really writes, so rewording an error cannot silently move its failures to another category."""
from __future__ import annotations

import re
import traceback

import pytest

from pytest_cloudjob import CloudApiError, HarnessError, WaitTimeoutError
from pytest_cloudjob.api.waiting import StatusHistory, wait_for
from pytest_cloudjob.reporting.allure_categories import CATEGORIES


def category_of(error: BaseException, status: str = "broken") -> str:
    """The category Allure 2 files ``error`` under: the first whose regex matches the whole message (Java)."""
    message = "".join(traceback.format_exception_only(type(error), error)).strip()
    return next(c["name"] for c in CATEGORIES if status in c["matchedStatuses"]
                and re.fullmatch(c.get("messageRegex", r"[\s\S]*"), message))


def a_wait_that_times_out() -> WaitTimeoutError:
    now = [0.0]
    history = StatusHistory("job-1")

    def fetch() -> dict[str, str]:
        body = {"status": "running"}
        history.record(body, clock=lambda: now[0])
        return body

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(WaitTimeoutError) as info:
        wait_for(fetch, {"completed"}, 2.0, history, clock=lambda: now[0], sleep=sleep)
    return info.value


def test_a_wait_that_reaches_its_deadline_is_a_harness_timeout():
    assert category_of(a_wait_that_times_out()) == "Harness timeouts"


def test_a_call_that_got_no_answer_is_a_transport_error():
    error = CloudApiError("GET", "/api/job/status/j", kind="transport", reason="connection refused")
    assert category_of(error) == "Transport errors"


@pytest.mark.parametrize("error", [CloudApiError("POST", "/api/job", status=500, body='{"error": "boom"}'),
                                   CloudApiError("GET", "/api/job/result/j", status=200, kind="protocol",
                                                 reason="'results' is not JSON text")])
def test_an_answer_that_broke_the_protocol_is_a_cloud_defect(error: CloudApiError) -> None:
    assert category_of(error, "failed") == "Cloud defects"


def test_a_harness_error_quoting_an_http_error_is_never_a_cloud_defect():
    error = HarnessError(f"my.scenario.yaml:3: step 'read': {CloudApiError('GET', '/api/x', status=404)}")
    assert category_of(error) == "Harness errors"
