"""Perceval's own client against the reference cloud: the protocol is the one Perceval really speaks."""
from __future__ import annotations

import time

import pytest

pcvl = pytest.importorskip("perceval", reason="Perceval is installed by the test extra")
from perceval.providers.quandela.rpc_handler import RPCHandler  # noqa: E402


def remote(cloud, platform: str):
    processor = pcvl.RemoteProcessor(platform, token=cloud.tokens["user"], url=cloud.url)
    processor.set_circuit(pcvl.BS())
    processor.with_input(pcvl.BasicState([1, 0]))
    processor.min_detected_photons_filter(1)
    return processor


def wait(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "Perceval did not see the job change in time"
        time.sleep(0.05)


def test_perceval_sampler_creates_follows_and_reads_a_job(reference_cloud):
    sampler = pcvl.algorithm.Sampler(remote(reference_cloud, "sim:qa"), max_shots_per_call=1000)
    job = sampler.sample_count.execute_async(1000)
    wait(lambda: job.is_complete)
    assert job.status.success
    counts = job.get_results()["results"]
    assert sum(counts.values()) == 1000 and set(counts) <= {"|1,0>", "|0,1>"}


def test_perceval_cancels_a_running_job(reference_cloud):
    sampler = pcvl.algorithm.Sampler(remote(reference_cloud, "sim:slow"), max_shots_per_call=100)
    job = sampler.sample_count.execute_async(100)
    wait(lambda: job.is_running)
    job.cancel()
    wait(lambda: job.status() == "CANCELED")


def test_perceval_rpc_handler_round_trip(reference_cloud):
    handler = RPCHandler("sim:slow", url=reference_cloud.url, token=reference_cloud.tokens["user"])
    assert handler.fetch_platform_details()["name"] == "sim:slow"
    job_id = handler.create_job({"platform_name": "sim:slow", "job_name": "pcvl", "pcvl_version": pcvl.__version__,
                                 "payload": {"command": "probs", "max_shots": 10}})
    assert handler.get_job_status(job_id)["status"] in ("waiting", "running")
    handler.cancel_job(job_id)
    wait(lambda: handler.get_job_status(job_id)["status"] == "canceled")
    assert handler.get_job_results(job_id)["results"] is None
    assert handler.rerun_job(job_id) != job_id
