"""The reference cloud answers physically true results, and the distribution check tells true from false.

Every experiment is sent as Perceval sends it; every reference is computed independently: by a local
SLOS simulation, or from first principles (a binomial law of losses, the HOM dip's depth).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import requests
from physics_jobs import create, experiment, haar, heralded, hom, lossy, pcvl, submit, v1

from pytest_cloudjob.physics import stats, wire
from pytest_cloudjob.physics.distribution import DistributionMismatch, assert_distribution, check_distribution

RECORDED = Path(__file__).parent / "recorded"


def test_health_says_results_are_simulated(physics_cloud):
    physics = requests.get(f"{physics_cloud.url}/health", timeout=60).json()["physics"]
    assert physics == {"simulated": True, "perceval": pcvl.__version__}


def test_probs_equal_a_local_slos_computation_to_1e_9(physics_cloud):
    text, _ = submit(physics_cloud, v1(haar, command="probs"))
    cloud_probs = wire.parse_results(json.loads(text)["results"]).values
    local = pcvl.Processor("SLOS", experiment(haar)).probs()["results"]
    assert len(cloud_probs) == len(local) == 56
    assert max(abs(cloud_probs[str(state)] - p) for state, p in local.items()) < 1e-9


def test_hom_no_coincidences_on_an_ideal_simulator(physics_cloud):
    text, context = submit(physics_cloud, v1(hom))
    counts = wire.parse_results(json.loads(text)["results"]).values
    assert counts.get("|1,1>", 0) == 0 and sum(counts.values()) == 10_000
    assert_distribution(text, {"|2,0>": 0.5, "|0,2>": 0.5})
    assert_distribution(text, "ideal", context=context)


def with_noise(build, **noise):
    """``build``'s experiment carrying its own noise model (which takes precedence over the platform's)."""
    def noisy(target):
        build(target)
        target.noise = pcvl.NoiseModel(**noise)
        return target
    return noisy


def test_hom_dip_depth_follows_the_experiments_hom(physics_cloud):
    # the dip needs photon-number-resolving detectors (qpu:qa has threshold ones): sim:qa, the noise in the job
    visibility = 0.92
    text, context = submit(physics_cloud, v1(with_noise(hom, indistinguishability=visibility)), platform="sim:qa")
    # among detected pairs, a coincidence needs distinguishable photons: P(|1,1>) = (1 - V) / 2
    dip = {"|1,1>": (1 - visibility) / 2, "|2,0>": (1 + visibility) / 4, "|0,2>": (1 + visibility) / 4}
    assert_distribution(text, dip)
    assert_distribution(text, "noisy", context=context)
    with pytest.raises(DistributionMismatch, match="most seen: \\|1,1>"):
        assert_distribution(text, "ideal", context=context)


def test_haar_random_6_modes_3_photons(physics_cloud):
    text, context = submit(physics_cloud, v1(haar))
    assert_distribution(text, "ideal", context=context)
    samples_text, samples_context = submit(physics_cloud, v1(haar, command="samples", shots=3000))
    assert wire.parse_results(json.loads(samples_text)["results"]).is_counts
    assert_distribution(samples_text, "ideal", context=samples_context)


def test_heralds_and_postselection_are_applied(physics_cloud):
    text, context = submit(physics_cloud, v1(heralded))
    counts = wire.parse_results(json.loads(text)["results"]).values
    assert all(len(state.split(",")) == 4 for state in counts)  # the heralded mode is not reported
    assert all(state[1] + state[3] in ("10", "01") for state in counts)  # one photon in modes 0-1
    assert 0 < sum(counts.values()) < 10_000  # the shots that failed the postselection are not samples
    assert_distribution(text, "ideal", context=context)


def test_photon_loss_follows_binomial_n_t_given_a_photon(physics_cloud):
    """Each photon is kept with probability T, and a shot is an event with at least one photon: the photon
    count is Binomial(3, T) given k >= 1, and the vacuum is never reported (issue 20)."""
    transmittance = 0.4
    text, context = submit(physics_cloud, v1(with_noise(lossy, transmittance=transmittance)), platform="sim:qa")
    counts = wire.parse_results(json.loads(text)["results"]).values
    assert "|0,0,0>" not in counts
    assert sum(counts.values()) == 10_000  # every shot has a photon and the filter keeps it: all are samples
    by_photons: dict[str, int] = {}
    for state, count in counts.items():
        photons = str(sum(int(x) for x in state.strip("|>").split(",")))
        by_photons[photons] = by_photons.get(photons, 0) + int(count)
    binomial = {str(k): math.comb(3, k) * transmittance**k * (1 - transmittance) ** (3 - k) for k in range(1, 4)}
    verdict = stats.compare(by_photons, binomial, alpha=1e-6)
    assert verdict.passed, verdict.explain()
    assert_distribution(text, "noisy", context=context)


def test_a_batch_answers_one_result_per_iteration(physics_cloud):
    iterations = [{"input_state": ":PCVL:BasicState:|1,1>"}, {"input_state": ":PCVL:BasicState:|2,0>"}]
    text, context = submit(physics_cloud, v1(hom, iterator=iterations, shots=2000))
    runs = json.loads(text)["results_list"]
    assert [r["iteration"] for r in runs] == iterations
    assert "|1,1>" in wire.parse_results(runs[1]["results"]).values  # |2,0> in: photons bunch no more
    assert check_distribution(text, {"reference": "ideal"}, "results", context) == []


def test_a_platform_limit_is_a_400_that_names_it(physics_cloud):
    def too_wide(target):
        target.set_circuit(pcvl.Circuit(14))
        target.with_input(pcvl.BasicState([1] + [0] * 13))
        return target

    answer = create(physics_cloud, v1(too_wide))
    assert answer.status_code == 400
    assert "14 modes" in answer.json()["error"] and "max_mode_count" in answer.json()["error"]
    bad = create(physics_cloud, {"command": "sample_count", "experiment": ":PCVL:zip:not-base64", "max_shots": 10})
    assert bad.status_code == 400 and "'payload.experiment': a :PCVL:zip: value that does not unpack" in bad.json()["error"]


def test_a_recorded_perceval_0_13_body_is_simulated(physics_cloud):
    """Perceval 0.13.2's sample_count body (v0: circuit, input_state with the heralded mode, heralds,
    postselect, parameters.min_detected_photons), recorded from that client against this cloud."""
    body = json.loads((RECORDED / "perceval-0.13.2-sample_count.json").read_text())
    text, context = submit(physics_cloud, body["payload"], platform=body["platform_name"])
    counts = wire.parse_results(json.loads(text)["results"]).values
    assert counts and all(state.startswith("|1,") and len(state.split(",")) == 3 for state in counts)
    assert_distribution(text, "ideal", context=context)


def test_seeded_results_replay(physics_cloud):
    payload = v1(haar, shots=500)
    first, _ = submit(physics_cloud, payload)
    headers = {"Authorization": f"Bearer {physics_cloud.tokens['user']}"}
    records = requests.get(f"{physics_cloud.url}/api/admin/jobs", headers={
        "Authorization": f"Bearer {physics_cloud.tokens['admin']}"}, timeout=60).json()
    job_id = next(r["job_id"] for r in reversed(records) if r["payload"] == payload)
    again = requests.get(f"{physics_cloud.url}/api/job/result/{job_id}", headers=headers, timeout=60).json()["results"]
    assert again == first
    other, _ = submit(physics_cloud, payload)
    assert other != first  # another job, another draw
