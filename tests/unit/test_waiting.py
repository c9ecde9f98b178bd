"""Waiting for a job: deadlines, the state-machine check, and adaptive polling (with a fake clock)."""
from __future__ import annotations

import pytest

from pytest_cloudjob import protocol
from pytest_cloudjob.api.waiting import (
    IllegalTransitionError,
    PollingPolicy,
    StatusHistory,
    UnexpectedEndError,
    WaitTimeoutError,
    wait_for,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(history: StatusHistory, fake: FakeTime, timeline):
    """A status source whose job follows ``timeline``: [(from_time, status, progress)]."""
    def fetch():
        current = [entry for entry in timeline if entry[0] <= fake.now][-1]
        body = {"status": current[1], "progress": current[2]}
        history.record(body, clock=fake.clock)
        return body
    return fetch


def run(timeline, until, timeout=60.0, policy=None):
    fake = FakeTime()
    history = StatusHistory("job-1")
    body = wait_for(scripted(history, fake, timeline), until, timeout, history,
                    policy=policy, clock=fake.clock, sleep=fake.sleep)
    return body, history, fake


def test_returns_the_body_of_the_wanted_status():
    body, history, _ = run([(0, "waiting", 0.0), (0.2, "running", 0.0), (0.5, "completed", 1.0)], {"completed"})
    assert body["status"] == "completed"
    assert history.statuses() == ["waiting", "running", "completed"]


def test_polling_starts_fast_and_backs_off_to_the_cap():
    _, _, fake = run([(0, "waiting", None), (30, "completed", 1.0)], {"completed"},
                     policy=PollingPolicy(first=0.05, factor=2, cap=1.0))
    assert fake.sleeps[:4] == [0.05, 0.1, 0.2, 0.4]
    assert max(fake.sleeps) == 1.0


def test_progress_predicts_the_end_of_a_long_job():
    # a 5 s run with linear progress, like the reference cloud reports it
    timeline = [(0, "waiting", 0.0)] + [(0.1 + t / 100, "running", (t / 100) / 5) for t in range(500)]
    timeline.append((5.1, "completed", 1.0))
    _, history, fake = run(timeline, {"completed"}, policy=PollingPolicy(cap=1.0))
    detection_delay = fake.now - 5.1
    assert 0 <= detection_delay < 0.05
    assert len(history.observations) <= 15


def test_timeout_names_job_expected_statuses_and_history():
    with pytest.raises(WaitTimeoutError) as info:
        run([(0, "waiting", None)], {"completed"}, timeout=2.0)
    text = str(info.value)
    assert "job job-1" in text and "still waiting after 2s" in text and "expected completed" in text
    assert "+0.000s waiting x" in text


def test_wait_never_sleeps_past_the_deadline():
    fake = FakeTime()
    history = StatusHistory("j")
    with pytest.raises(WaitTimeoutError):
        wait_for(scripted(history, fake, [(0, "running", None)]), {"completed"}, 1.3, history,
                 clock=fake.clock, sleep=fake.sleep)
    assert fake.now == pytest.approx(1.3)


def test_an_unwanted_end_fails_at_once():
    with pytest.raises(UnexpectedEndError, match="job ended as error; expected completed"):
        run([(0, "running", 0.1), (0.1, "error", None)], {"completed"})


def test_an_illegal_transition_names_both_states():
    with pytest.raises(IllegalTransitionError, match="illegal transition running -> waiting"):
        run([(0, "running", 0.1), (0.01, "waiting", None)], {"completed"})
    history = StatusHistory("j")
    history.record({"status": "completed"})
    with pytest.raises(IllegalTransitionError, match="completed -> running"):
        history.record({"status": "running"})


def test_unknown_wanted_status_is_refused():
    with pytest.raises(ValueError, match="unknown statuses"):
        run([(0, "completed", 1.0)], {"done"})


@pytest.mark.parametrize("previous,current", [
    ("waiting", "completed"), ("waiting", "cancel_requested"), ("running", "canceled"),
    ("suspended", "completed"), ("waiting", "waiting"), ("running", "suspended"),
])
def test_skipped_intermediate_states_are_legal(previous, current):
    assert protocol.is_reachable(previous, current)


@pytest.mark.parametrize("previous,current", [
    ("completed", "running"), ("canceled", "completed"), ("error", "waiting"), ("running", "waiting"),
    ("cancel_requested", "completed"), ("cancel_requested", "running"),
])
def test_leaving_a_terminal_state_or_going_back_is_illegal(previous, current):
    assert not protocol.is_reachable(previous, current)


def test_history_describe_groups_repeats():
    history = StatusHistory("j")
    t = iter([0.0, 0.1, 0.2, 0.3])
    for status in ["waiting", "waiting", "running", "completed"]:
        history.record({"status": status}, clock=lambda: next(t))
    assert history.describe() == "+0.000s waiting x2, +0.200s running, +0.300s completed"


def _silent_after(history: StatusHistory, fake: FakeTime, answered_until: float, kind: str = "transport"):
    """A status source that answers ``running`` until ``answered_until``, then fails its calls (taking 1 s)."""
    from pytest_cloudjob.api.errors import CloudApiError

    def fetch():
        if fake.now < answered_until:
            body = {"status": "running", "progress": None}
            history.record(body, clock=fake.clock)
            return body
        fake.now += 1.0
        if kind == "transport":
            raise CloudApiError("GET", "/api/job/status/j", kind="transport", reason="timed out (ReadTimeout)")
        raise CloudApiError("GET", "/api/job/status/j", status=500, body="boom")
    return fetch


def test_a_cloud_that_stops_answering_at_the_deadline_ends_the_wait_as_a_timeout_with_the_history():
    fake = FakeTime()
    history = StatusHistory("j")
    with pytest.raises(WaitTimeoutError) as info:
        wait_for(_silent_after(history, fake, 1.5), {"completed"}, 2.0, history, clock=fake.clock, sleep=fake.sleep)
    text = str(info.value)
    assert "no answer in time: still running after 2s" in text and "timed out (ReadTimeout)" in text
    assert "history: +0.000s running x" in text and info.value.__cause__ is None


def test_a_transport_error_before_the_deadline_is_the_calls_own_error():
    from pytest_cloudjob.api.errors import CloudApiError
    fake = FakeTime()
    history = StatusHistory("j")
    with pytest.raises(CloudApiError, match="transport error"):
        wait_for(_silent_after(history, fake, 0.5), {"completed"}, 60.0, history, clock=fake.clock, sleep=fake.sleep)


def test_an_http_error_at_the_deadline_stays_an_http_error():
    from pytest_cloudjob.api.errors import CloudApiError
    fake = FakeTime()
    history = StatusHistory("j")
    with pytest.raises(CloudApiError, match="HTTP 500"):
        wait_for(_silent_after(history, fake, 1.5, kind="http"), {"completed"}, 2.0, history,
                 clock=fake.clock, sleep=fake.sleep)


def test_an_unwanted_end_carries_the_clouds_reason():
    fake = FakeTime()
    history = StatusHistory("j")

    def fetch():
        body = {"status": "error", "failure_code": 12, "status_message": "line\nbroken  message"}
        history.record(body, clock=fake.clock)
        return body
    with pytest.raises(UnexpectedEndError) as info:
        wait_for(fetch, {"completed"}, 5.0, history, clock=fake.clock, sleep=fake.sleep)
    assert "job ended as error (failure_code: 12; status_message: line broken message)" in str(info.value)
    assert info.value.failure_code == 12 and info.value.body["status"] == "error"


def test_a_wait_for_a_cancel_does_not_sleep_towards_the_predicted_end():
    """Progress says the job ends in ~100 s; a wait for 'canceled' must keep polling at the back-off cap,
    and a job seen cancel_requested no longer has a predicted end."""
    timeline = [(0.0, "running", 0.01), (1.0, "running", 0.02), (3.0, "cancel_requested", 0.02), (3.5, "canceled", 0.02)]
    _, history, fake = run(timeline, {"canceled"}, policy=PollingPolicy(cap=1.0))
    assert max(fake.sleeps) <= 1.0
    assert history.last == "canceled"
    assert history.predicted_remaining(fake.now) is None


def _answers(history: StatusHistory, fake: FakeTime, script: list[str]):
    """A status source that plays ``script``: a status, or "503" / "404" / "drop" for a read failing after its retries."""
    from pytest_cloudjob.api.errors import CloudApiError
    calls = iter(script)

    def fetch():
        fake.now += 0.5
        step = next(calls)
        if step in ("503", "404"):
            raise CloudApiError("GET", "/api/job/status/j", status=int(step), body='{"error": "x"}', attempts=4)
        if step == "drop":
            raise CloudApiError("GET", "/api/job/status/j", kind="transport", reason="connection dropped", attempts=4)
        body = {"status": step, "progress": None}
        history.record(body, clock=fake.clock)
        return body
    return fetch


def test_a_burst_of_transient_failed_reads_inside_a_wait_is_not_a_verdict():
    fake = FakeTime()
    history = StatusHistory("j")
    fetch = _answers(history, fake, ["running", "503", "drop", "running", "503", "completed"])
    body = wait_for(fetch, {"completed"}, 60.0, history, clock=fake.clock, sleep=fake.sleep)
    assert body["status"] == "completed"


def test_a_cloud_that_keeps_failing_reads_ends_the_wait_soon_with_its_error():
    from pytest_cloudjob.api.errors import CloudApiError
    fake = FakeTime()
    history = StatusHistory("j")
    fetch = _answers(history, fake, ["running", "503", "503", "503", "completed"])
    with pytest.raises(CloudApiError, match="HTTP 503"):
        wait_for(fetch, {"completed"}, 60.0, history, clock=fake.clock, sleep=fake.sleep)
    assert fake.now < 10, "gave up after three failed reads in a row, not at the 60 s deadline"


def test_a_non_transient_error_inside_a_wait_is_its_verdict_at_once():
    from pytest_cloudjob.api.errors import CloudApiError
    fake = FakeTime()
    history = StatusHistory("j")
    fetch = _answers(history, fake, ["running", "404", "completed"])
    with pytest.raises(CloudApiError, match="HTTP 404"):
        wait_for(fetch, {"completed"}, 60.0, history, clock=fake.clock, sleep=fake.sleep)
