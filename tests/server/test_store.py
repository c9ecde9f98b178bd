"""The reference cloud's state machine and memory bound, on a fake clock."""
from __future__ import annotations

import pytest

from pytest_cloudjob import protocol
from pytest_cloudjob.server.platforms import default_platforms
from pytest_cloudjob.server.store import CANCEL_DELAY, JobStore

BODY = {"payload": {"command": "sample_count", "max_shots": 10}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock) -> JobStore:
    return JobStore(default_platforms({"qpu:qa": 1.0}), clock=clock, max_finished=5)


def statuses_over(job, start, stop, step=0.01):
    seen: list[str] = []
    t = start
    while t <= stop:
        status = job.status_at(t)
        if not seen or seen[-1] != status:
            seen.append(status)
        t += step
    return seen


def test_every_observed_sequence_follows_the_state_machine(store, clock):
    qa = store.create("u", store.platforms["sim:qa"], BODY)
    assert statuses_over(qa, clock.now, clock.now + 1) == ["waiting", "running", "completed"]
    slow = store.create("u", store.platforms["sim:slow"], BODY)
    clock.now += 1
    store.cancel(slow)
    assert statuses_over(slow, clock.now, clock.now + 1) == ["cancel_requested", "canceled"]
    for a, b in zip(["waiting", "running", "cancel_requested"], ["running", "cancel_requested", "canceled"]):
        assert protocol.is_reachable(a, b)


def test_a_terminal_status_is_never_left_even_by_a_cancel(store, clock):
    job = store.create("u", store.platforms["sim:qa"], BODY)
    clock.now += 5
    assert store.cancel(job) == ("completed", "completed")
    assert job.status_at(clock.now + 100) == "completed"


def test_cancel_requested_becomes_canceled_after_the_delay(store, clock):
    job = store.create("u", store.platforms["sim:slow"], BODY)
    clock.now += 0.5
    assert store.cancel(job) == ("running", "cancel_requested")
    assert store.cancel(job) == ("cancel_requested", "cancel_requested")
    clock.now += CANCEL_DELAY
    assert job.status_at(clock.now) == "canceled"
    assert job.status_body(clock.now)["duration"] == 1


def test_the_qpu_queue_runs_jobs_one_after_the_other(store, clock):
    qpu = store.platforms["qpu:qa"]
    a, b, c = (store.create("u", qpu, BODY) for _ in range(3))
    assert (a.start_at, b.start_at, c.start_at) == (clock.now, clock.now + 1, clock.now + 2)
    clock.now += 1.5
    assert [j.status_at(clock.now) for j in (a, b, c)] == ["completed", "running", "waiting"]


def test_cancelling_a_queued_or_running_qpu_job_moves_the_queue_forward(store, clock):
    qpu = store.platforms["qpu:qa"]
    a, b, c = (store.create("u", qpu, BODY) for _ in range(3))
    store.cancel(b)  # waiting: cancelled at once, c moves into its place
    assert b.status_at(clock.now) == "canceled" and c.start_at == clock.now + 1
    clock.now += 0.5
    store.cancel(a)  # running: frees the slot after the cancel delay
    assert c.start_at == pytest.approx(clock.now + CANCEL_DELAY)


def test_eviction_keeps_every_active_job_and_the_latest_ended_ones(store, clock):
    slow = [store.create("u", store.platforms["sim:slow"], BODY) for _ in range(12)]  # more active jobs than the cap
    done = []
    for _ in range(8):
        done.append(store.create("u", store.platforms["sim:qa"], BODY))
        clock.now += 1
    store.create("u", store.platforms["sim:qa"], BODY)
    assert all(job.job_id in store.jobs for job in slow)
    kept = [job for job in done if job.job_id in store.jobs]
    assert kept[-5:] == done[-5:]  # the five that ended last (max_finished=5) are all there
    assert 5 <= len(kept) <= 5 + 1 and store.evicted == len(done) - len(kept)  # at most a quarter (here 1) more


def test_the_job_that_ended_last_is_kept_even_if_it_was_created_first(clock):
    store = JobStore(default_platforms({"sim:slow": 5.0}), clock=clock, max_finished=2)
    long = store.create("u", store.platforms["sim:slow"], BODY)  # created first, ends last (t+5)
    quick = []
    for _ in range(4):
        quick.append(store.create("u", store.platforms["sim:qa"], BODY))
        clock.now += 1
    clock.now += 2
    store.create("u", store.platforms["sim:qa"], BODY)
    assert long.job_id in store.jobs and quick[-1].job_id in store.jobs
    assert quick[0].job_id not in store.jobs


def test_cancel_many_reschedules_the_queue_once_and_keeps_it_in_order(clock):
    store = JobStore(default_platforms({"qpu:qa": 1.0}), clock=clock)
    qpu = store.platforms["qpu:qa"]
    jobs = [store.create("u", qpu, BODY) for _ in range(3000)]
    outcomes = store.cancel_many([j.job_id for j in jobs[1::2]] + ["missing"])  # every other queued job
    assert set(outcomes.values()) == {"canceled", "not_found"} and len(outcomes) == 1501
    kept = jobs[0::2]
    assert [j.start_at - clock.now for j in kept[:4]] == [0.0, 1.0, 2.0, 3.0]
    assert all(b.start_at == a.end_at for a, b in zip(kept, kept[1:]))  # back to back, first come first served


def test_results_exist_only_once_completed_and_are_reproducible(clock):
    stores = [JobStore(default_platforms(), clock=clock, seed=7) for _ in range(2)]
    big = {"payload": {"command": "sample_count", "input_state": "|1,1,1,0>", "max_shots": 1_000_000}}
    jobs = [s.create("u", s.platforms["sim:qa"], big) for s in stores]
    assert stores[0].results(jobs[0]) is None
    clock.now += 1
    texts = [s.results(j) for s, j in zip(stores, jobs)]
    assert texts[0] is not None and texts[0] != texts[1]  # different job ids, different draws
    jobs[1].job_id = jobs[0].job_id
    jobs[1].results_text = None
    assert stores[1].results(jobs[1]) == texts[0]
