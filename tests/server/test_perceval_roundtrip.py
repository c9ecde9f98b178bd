"""Perceval's own clients against the reference cloud: the protocol is the one Perceval really speaks,
and the results are the ones its experiments give (the physics is checked by tests/physics)."""
from __future__ import annotations

import time

import pytest
import requests

pcvl = pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")
from perceval.providers.quandela import QuandelaCommunicationLayer  # noqa: E402
from perceval.providers.quandela.rpc_handler import RPCHandler  # noqa: E402
from perceval.runtime import RemoteComputer  # noqa: E402
from perceval.runtime.computation import Computation  # noqa: E402
from perceval.serialization import serialize  # noqa: E402

from pytest_cloudjob.physics.distribution import assert_distribution  # noqa: E402

HOM = {"|2,0>": 0.5, "|0,2>": 0.5}


def remote(cloud, platform: str, input_state=(1, 0)):
    processor = pcvl.RemoteProcessor(platform, token=cloud.tokens["user"], url=cloud.url)
    processor.set_circuit(pcvl.BS())
    processor.with_input(pcvl.BasicState(list(input_state)))
    processor.min_detected_photons_filter(sum(input_state))
    return processor


@pytest.fixture(scope="module", autouse=True)
def _cloud_has_loaded_perceval(reference_cloud):
    """Perceval's client reads with a fixed 10 s timeout, and a cloud's first experiment makes it import
    Perceval (3.5 s on a quiet machine, 20 s on a busy one): one job with a long timeout first, so that
    these tests measure the protocol, never the machine's load."""
    experiment = pcvl.Experiment(2)
    experiment.add(0, pcvl.BS.H())
    experiment.with_input(pcvl.BasicState([2, 0]))
    body = {"platform_name": "sim:qa", "job_name": "warm-up", "pcvl_version": pcvl.__version__,
            "payload": {"command": "probs", "experiment": serialize(experiment)}}
    headers = {"Authorization": f"Bearer {reference_cloud.tokens['user']}"}
    created = requests.post(f"{reference_cloud.url}/api/job", json=body, headers=headers, timeout=300)
    assert created.status_code == 200, created.text
    status_url = f"{reference_cloud.url}/api/job/status/{created.json()['job_id']}"
    wait(lambda: requests.get(status_url, headers=headers, timeout=300).json()["status"] not in ("waiting", "running"),
         timeout=300)


def wait(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "Perceval did not see the job change in time"
        time.sleep(0.05)


def results_of(job, timeout: float = 120.0):
    wait(lambda: job.is_complete, timeout)
    assert job.status.success, job.status.stop_message
    return job.get_results()


def as_text(results) -> dict[str, float]:
    return {str(state): value for state, value in results.items()}


def test_perceval_sampler_creates_follows_and_reads_a_job(reference_cloud):
    sampler = pcvl.algorithm.Sampler(remote(reference_cloud, "sim:qa"), max_shots_per_call=1000)
    counts = results_of(sampler.sample_count.execute_async(1000))["results"]
    assert isinstance(counts, pcvl.BSCount)
    assert sum(counts.values()) == 1000 and set(as_text(counts)) <= {"|1,0>", "|0,1>"}


def test_sampler_probs_sample_count_samples_and_a_batch_are_physically_right(reference_cloud):
    sampler = pcvl.algorithm.Sampler(remote(reference_cloud, "sim:qa", (1, 1)), max_shots_per_call=4000)
    probs = results_of(sampler.probs.execute_async())["results"]
    assert as_text(probs) == pytest.approx(HOM, abs=1e-9)
    counts = results_of(sampler.sample_count.execute_async(4000))["results"]
    assert_distribution({"results": {s: int(c) for s, c in as_text(counts).items()}}, HOM)
    samples = results_of(sampler.samples.execute_async(500))["results"]
    assert isinstance(samples, pcvl.BSSamples) and len(samples) == 500
    assert {str(s) for s in samples} <= set(HOM)

    batch = pcvl.algorithm.Sampler(remote(reference_cloud, "sim:qa", (1, 1)), max_shots_per_call=2000)
    batch.add_iteration(input_state=pcvl.BasicState([1, 1]))
    batch.add_iteration(input_state=pcvl.BasicState([2, 0]))
    runs = results_of(batch.sample_count.execute_async(2000))["results_list"]
    assert len(runs) == 2 and as_text(runs[0]["results"]).keys() <= set(HOM)
    assert "|1,1>" in as_text(runs[1]["results"])  # two photons in one input mode do not bunch to one output


@pytest.mark.parametrize("lists_commands", [False, True], ids=["payload-v1", "payload-v2-computation"])
def test_perceval_1_3_remote_computer(reference_cloud, lists_commands):
    """Perceval 1.3's RemoteComputer: it asks ``/api/jobs/availability`` before posting, and sends a v1
    payload (``experiment``) or, to a platform whose specs list ``commands``, a v2 ``computation``."""
    layer = QuandelaCommunicationLayer("sim:qa", reference_cloud.tokens["user"], reference_cloud.url)
    if lists_commands:  # what a platform advertising Perceval Command objects gets
        specs = layer.get_specs()
        specs["commands"] = specs.commands
    computer = RemoteComputer(layer)
    experiment = pcvl.Experiment(pcvl.BS())
    experiment.with_input(pcvl.BasicState([1, 1]))
    experiment.min_detected_photons_filter(2)
    computation = Computation(computer.get_command("sample_count"), experiment)
    computation.add_params(max_shots=2000, max_samples=2000)
    counts = computer.execute(computation)["results"]
    assert_distribution({"results": {s: int(c) for s, c in as_text(counts).items()}}, HOM)


def test_perceval_cancels_a_running_job(reference_cloud):
    sampler = pcvl.algorithm.Sampler(remote(reference_cloud, "sim:slow"), max_shots_per_call=100)
    job = sampler.sample_count.execute_async(100)
    wait(lambda: job.is_running)
    job.cancel()
    wait(lambda: job.status() == "CANCELED")


def test_perceval_rpc_handler_round_trip(reference_cloud):
    handler = RPCHandler("sim:slow", url=reference_cloud.url, token=reference_cloud.tokens["user"])
    details = handler.fetch_platform_details()
    assert details["name"] == "sim:slow"
    assert set(details["perfs"]) == {"Transmittance (%)", "HOM (%)", "g2 (%)",  # the keys perf_dict_to_noise reads
                                     "Transmission per mode (%)"}  # and the per-mode detectors its client reads
    job_id = handler.create_job({"platform_name": "sim:slow", "job_name": "pcvl", "pcvl_version": pcvl.__version__,
                                 "payload": {"command": "probs", "max_shots": 10}})
    assert handler.get_job_status(job_id)["status"] in ("waiting", "running")
    handler.cancel_job(job_id)
    wait(lambda: handler.get_job_status(job_id)["status"] == "canceled")
    assert handler.get_job_results(job_id)["results"] is None
    assert handler.rerun_job(job_id) != job_id
