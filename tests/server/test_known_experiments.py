"""The client's default payload is a real Perceval experiment, and the reference cloud answers it from a
precomputed table that equals what Perceval computes: no Perceval import, no worker, samples <= shots."""
from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec

import pytest

from pytest_cloudjob.api.cloud_objects import Job
from pytest_cloudjob.physics import wire
from pytest_cloudjob.server import results
from pytest_cloudjob.server.platforms import default_platforms

PLATFORMS = default_platforms()
needs_perceval = pytest.mark.skipif(find_spec("perceval") is None, reason="the physics extra (Perceval) is not installed")


def samples_of(text: str) -> int:
    return int(sum(wire.parse_results(json.loads(text)["results"]).values.values()))


def test_the_client_default_experiment_is_the_one_the_cloud_knows_by_heart():
    assert Job.DEFAULT_PAYLOAD["experiment"] == Job.DEFAULT_EXPERIMENT == results.DEFAULT_EXPERIMENT
    assert (Job.DEFAULT_PAYLOAD["command"], Job.DEFAULT_PAYLOAD["max_shots"], Job.DEFAULT_PAYLOAD["parameters"]) == (
        "sample_count", 1000, {})
    for name, platform in PLATFORMS.items():
        assert results.known_exact(Job().payload, platform.details()) is not None, name


@needs_perceval
def test_perceval_reads_the_default_payload_as_a_beam_splitter_with_one_photon_and_a_filter_of_one():
    import numpy
    import perceval as pcvl
    from perceval.serialization import deserialize

    from pytest_cloudjob.physics import simulate

    experiment = deserialize(Job().payload["experiment"])
    assert type(experiment).__name__ == "Experiment"
    assert (experiment.m, str(experiment.input_state), experiment.min_photons_filter) == (2, "|1,0>", 1)
    assert numpy.allclose(numpy.array(experiment.unitary_circuit().compute_unitary()),
                          numpy.array(pcvl.BS().compute_unitary()))
    [run] = simulate.runs_of(Job().payload)
    assert (run.command, run.max_shots, run.max_samples) == ("sample_count", 1000, None)


@needs_perceval
@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_each_precomputed_distribution_is_what_perceval_computes(name):
    from perceval.serialization import deserialize

    from pytest_cloudjob.physics import simulate

    details = PLATFORMS[name].details()
    table = results.known_exact(Job().payload, details)
    assert table is not None
    computed = simulate.exact(deserialize(results.DEFAULT_EXPERIMENT), noise=simulate.noise_of_perfs(details["perfs"]),
                              threshold=simulate.threshold_detectors(details), bound_unlisted=False)
    assert set(table.probs) == set(computed.probs)
    for state, p in computed.probs.items():
        assert table.probs[state] == pytest.approx(p, rel=1e-9, abs=1e-12), state
    assert table.perf == pytest.approx(computed.perf, rel=1e-9)
    assert table.vacuum == pytest.approx(computed.vacuum, rel=1e-9, abs=1e-12)


def test_a_platform_whose_noise_has_no_row_is_simulated_as_any_experiment():
    details = {**PLATFORMS["qpu:qa"].details(), "perfs": {"Transmittance (%)": 30.0, "HOM (%)": 92.0, "g2 (%)": 2.0}}
    assert results.known_exact(Job().payload, details) is None
    other = {**Job().payload, "iterator": [{"input_state": ":PCVL:BasicState:|0,1>"}]}
    assert results.known_exact(other, PLATFORMS["sim:qa"].details()) is None


def test_a_default_job_is_checked_and_sampled_without_perceval_nor_the_worker():
    code = (
        "import json, sys\n"
        "from pytest_cloudjob.api.cloud_objects import Job\n"
        "from pytest_cloudjob.server import results\n"
        "from pytest_cloudjob.server.platforms import default_platforms\n"
        "details = default_platforms()['qpu:qa'].details()\n"
        "assert results.assess(Job().payload, details) == (None, False)\n"
        "text = results.unsimulated_results(Job().payload, 1, 'job-1', details)\n"
        "assert 'perceval' not in sys.modules, 'Perceval was imported'\n"
        "print(text)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["results"].startswith(":PCVL:BSCount:{") and body["physical_perf"] == pytest.approx(0.50255, abs=1e-5)


def test_a_qpu_refuses_probs_of_the_default_experiment_as_of_any_experiment():
    problem, simulated = results.assess({**Job().payload, "command": "probs"}, PLATFORMS["qpu:qa"].details())
    assert not simulated and "does not run command 'probs'" in (problem or "")
    # a command no platform runs ends the job in error (the store), as for a payload without an experiment
    assert results.assess({**Job().payload, "command": "no-such"}, PLATFORMS["qpu:qa"].details()) == (None, False)


def test_every_shot_of_one_photon_with_a_filter_of_one_is_a_sample_even_on_the_lossy_qpu():
    # Perceval's definition: a shot is an event with at least one photon, so a lossy QPU keeps all 4000
    # (the cloud once drew Binomial(4000, physical_perf) and answered 1959: issue 20)
    details = PLATFORMS["qpu:qa"].details()
    text = results.unsimulated_results({**Job().payload, "max_shots": 4000}, 3, "job", details)
    assert samples_of(text) == 4000
    capped = results.unsimulated_results({**Job().payload, "max_shots": 4000, "max_samples": 100}, 3, "job", details)
    assert samples_of(capped) == 100
    above = {**Job().payload, "max_shots": 777, "max_samples": 1000}
    assert samples_of(results.unsimulated_results(above, 3, "job", details)) == 777
    assert samples_of(results.unsimulated_results(above, 3, "job", details, frozenset({"samples-above-shots"}))) == 1000


def test_samples_never_exceed_max_samples_in_invented_results_either():
    payload = {"command": "sample_count", "max_shots": 500, "max_samples": 20}
    assert samples_of(results.invented_results(payload, 1, "job")) == 20
    assert samples_of(results.invented_results({**payload, "max_samples": 900}, 1, "job")) == 500


def test_identical_experiments_get_their_own_samples_unless_the_seed_is_reused():
    payload, details = {**Job().payload, "command": "samples"}, PLATFORMS["sim:qa"].details()
    first = results.unsimulated_results(payload, 5, "job-a", details)
    assert first == results.unsimulated_results(payload, 5, "job-a", details)  # replayable
    assert first != results.unsimulated_results(payload, 5, "job-b", details)
    reused = frozenset({"reused-seed"})
    assert (results.unsimulated_results(payload, 5, "job-a", details, reused)
            == results.unsimulated_results(payload, 5, "job-b", details, reused))
