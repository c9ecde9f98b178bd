"""A create's physics fields are checked before the job is stored (issue 19, R6): a value no simulation
could use is a 400 naming the field, never a 500 at create nor a job whose every later read fails."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
import requests

from pytest_cloudjob.server.limits import MAX_BATCH_RUNS, MAX_SAMPLES, SIMULATION_FAILED
from pytest_cloudjob.server.simulator import SimulationFailed, Simulator

CIRCUIT = {"command": "sample_count", "circuit": ":PCVL:ACircuit:{}", "input_state": "|1,1>", "max_shots": 10}


def create(cloud, payload):
    return requests.post(f"{cloud.url}/api/job", timeout=30, headers={"Authorization": f"Bearer {cloud.tokens['user']}"},
                         json={"platform_name": "sim:qa", "payload": payload})


@pytest.mark.parametrize(("extra", "field"), [
    ({"iterator": "x"}, "'payload.iterator'"),
    ({"iterator": [1, 2]}, "'payload.iterator'"),
    ({"iterator": {"circuit_params": {}}}, "'payload.iterator'"),
    ({"iterator": [{"circuit_params": [1]}]}, "'payload.iterator[0].circuit_params'"),
    ({"iterator": [{"circuit_params": {"phi": "x"}}]}, "'payload.iterator[0].circuit_params.phi'"),
    ({"iterator": [{"circuit_params": {"phi": 1e300}}]}, "'payload.iterator[0].circuit_params.phi'"),
    ({"iterator": [{"min_detected_photons": -1}]}, "'payload.iterator[0].min_detected_photons'"),
    ({"iterator": [{"input_state": 5}]}, "'payload.iterator[0].input_state'"),
    ({"iterator": [{}] * (MAX_BATCH_RUNS + 1)}, "'payload.iterator'"),
    ({"heralds": {"0": 1e20}}, "'payload.heralds.0'"),
    ({"heralds": {"0": -1}}, "'payload.heralds.0'"),
    ({"heralds": {"0": True}}, "'payload.heralds.0'"),
    ({"heralds": {"x": 0}}, "'payload.heralds'"),
    ({"heralds": {"99": 0}}, "'payload.heralds'"),
    ({"heralds": [0]}, "'payload.heralds'"),
    ({"postselect": 3}, "'payload.postselect'"),
    ({"noise": [1]}, "'payload.noise'"),
    ({"circuit": {"a": 1}}, "'payload.circuit'"),
    ({"parameters": {"min_detected_photons": 1e9}}, "'payload.parameters.min_detected_photons'"),
    ({"command": "samples", "max_shots": 10**9}, f"at most {MAX_SAMPLES} samples"),
])
def test_a_physics_field_no_simulation_can_use_is_a_400_naming_it(reference_cloud, extra, field):
    answer = create(reference_cloud, {**CIRCUIT, **extra})
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["error"]


def test_heralds_and_batches_within_bounds_are_accepted_and_read_back(reference_cloud):
    payload = {**CIRCUIT, "heralds": {"0": 0, "1": 1}, "parameters": {"min_detected_photons": 1},
               "iterator": [{"circuit_params": {"phi": 0.5}, "min_detected_photons": 1}]}
    answer = create(reference_cloud, payload)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["job_id"]
    headers = {"Authorization": f"Bearer {reference_cloud.tokens['user']}"}
    deadline = time.monotonic() + 60
    while (status := requests.get(f"{reference_cloud.url}/api/job/status/{job_id}", headers=headers,
                                  timeout=30).json())["status"] in ("waiting", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status["status"] in ("completed", "error")
    assert requests.get(f"{reference_cloud.url}/api/job/result/{job_id}", headers=headers, timeout=30).status_code == 200


def test_a_job_whose_results_cannot_be_computed_fails_with_a_code_not_the_worker():
    async def twice() -> tuple[SimulationFailed, int]:
        simulator = Simulator(budget=60)
        try:
            with pytest.raises(SimulationFailed) as failed:
                await simulator.results({"seed": 0, "job_key": "k"})  # no payload: make_results raises
            text = await simulator.results({"payload": {"command": "probs"}, "seed": 0, "job_key": "k"})
            return failed.value, len(text)
        finally:
            await simulator.aclose()

    failure, answered = asyncio.run(twice())
    assert failure.code == SIMULATION_FAILED and "KeyError" in failure.message and "\n" not in failure.message
    assert answered > 0  # the same worker answers the next job


def test_a_job_cancelled_while_the_worker_starts_leaves_no_line_that_answers_the_next_job():
    """The worker's ready line, unread when its job was cancelled, once answered the next job ("the simulation
    failed: no reason"), and every later job got the answer of the one before it."""
    async def cancelled_then_next() -> list[str]:
        simulator = Simulator(budget=60)
        try:
            first = asyncio.create_task(simulator.results({"payload": {"command": "probs"}, "seed": 0, "job_key": "a"}))
            while simulator._process is None:  # the worker is starting: its ready line is not read yet
                await asyncio.sleep(0)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            return [await simulator.results({"payload": {"command": "probs", "max_shots": n}, "seed": 0, "job_key": "b"})
                    for n in (10, 20)]
        finally:
            await simulator.aclose()

    answers = [json.loads(text) for text in asyncio.run(cancelled_then_next())]
    assert [a["max_shots"] for a in answers] == [10, 20]  # each job its own answer
