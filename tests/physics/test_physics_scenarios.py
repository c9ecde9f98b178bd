"""The shipped physics scenarios (scenarios/physics.scenario.yaml), checked through the distribution module
directly: each payload is the experiment its name says, each spec loads, and each check is green against
the honest reference cloud on an ideal simulator and on a lossy, partly distinguishable QPU."""
from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest
from physics_jobs import create, experiment, haar, heralded, hom, lossy, pcvl, platform_details, shipped_checks, submit

from pytest_cloudjob.physics import distribution, wire

CHECKS = shipped_checks()
BUILT_BY = {
    "Hong-Ou-Mandel on a 50:50 beam splitter - the dip the platform advertises, no distinguishable photons": hom,
    "a Haar-random 6-mode interferometer with 3 photons": haar,
    "probabilities of the Haar-random interferometer are exact": haar,
    "heralds and postselection are applied": heralded,
    "photon loss follows Binomial(n, T) of the advertised transmittance": lossy,
}


def test_every_shipped_physics_scenario_is_known_here():
    assert set(CHECKS) == set(BUILT_BY)


#: The `:PCVL:zip:` blobs the shipped scenarios sent before they were written as components (issue 20, item 3).
BLOBS = json.loads((Path(__file__).parent / "recorded" / "physics_scenario_blobs.json").read_text())


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_the_experiment_written_as_components_is_the_blob_it_replaced(name):
    """Same circuit (its unitary), same input, heralds, postselection, photon filter, noise and detectors."""
    from perceval.serialization import deserialize

    compiled, blob = deserialize(CHECKS[name].payload["experiment"]), deserialize(BLOBS[name])
    assert (compiled.m, compiled.circuit_size) == (blob.m, blob.circuit_size)
    assert numpy.allclose(numpy.asarray(compiled.unitary_circuit().compute_unitary()),
                          numpy.asarray(blob.unitary_circuit().compute_unitary()), atol=1e-12)
    assert str(compiled.input_state) == str(blob.input_state)
    assert compiled.heralds == blob.heralds and compiled.in_heralds == blob.in_heralds
    assert str(compiled.post_select_fn) == str(blob.post_select_fn)
    assert compiled.min_photons_filter == blob.min_photons_filter
    assert compiled.noise == blob.noise and compiled.detectors == blob.detectors


def test_the_shipped_file_writes_every_experiment_as_components():
    text = (Path(__file__).parents[2] / "scenarios" / "physics.scenario.yaml").read_text()
    assert ":PCVL:" not in text.split("---", 1)[1]


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_payload_is_the_experiment_it_names_and_the_spec_loads(name):
    from perceval.serialization import deserialize

    assert distribution.validate_distribution_spec(CHECKS[name].spec) == []
    shipped = pcvl.Processor("SLOS", deserialize(CHECKS[name].payload["experiment"])).probs()["results"]
    built = pcvl.Processor("SLOS", experiment(BUILT_BY[name])).probs()["results"]
    assert {str(s): p for s, p in shipped.items()} == pytest.approx({str(s): p for s, p in built.items()}, abs=1e-12)


@pytest.mark.parametrize("platform", ["sim:qa", "qpu:qa"])
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_green_against_the_honest_reference_cloud(physics_cloud, name, platform):
    check = CHECKS[name]
    commands = platform_details(physics_cloud, platform)["specs"]["available_commands"]
    if check.payload["command"] not in commands:  # the scenario's `require` makes it not conclusive there
        answer = create(physics_cloud, check.payload, platform)
        assert answer.status_code == 400 and "specs.available_commands" in answer.text, answer.text
        return
    text, context = submit(physics_cloud, check.payload, platform=platform)
    assert distribution.check_distribution(text, check.spec, "results", context) == []
    if check.payload["command"] == "sample_count":
        counts = wire.parse_results(json.loads(text)["results"]).values
        assert 0 < sum(counts.values()) <= check.payload["max_shots"]


def test_a_loss_scenario_reference_is_binomial_in_photon_number(physics_cloud):
    """The `noisy` reference of the loss scenario is Binomial(3, T) in photon number: the scenario checks
    the promise its name states, not whatever the simulator says."""
    from math import comb

    check = CHECKS["photon loss follows Binomial(n, T) of the advertised transmittance"]
    t = 0.4  # a lossy platform without multi-photon emission, photon-number-resolving detectors
    context = distribution.DistributionContext(check.payload, lambda: {"perfs": {"Transmittance (%)": 100 * t}})
    reference = distribution._references("noisy", 1, context)[0].probs
    by_photons: dict[int, float] = {}
    for state, p in reference.items():
        n = sum(int(x) for x in state.strip("|>").split(","))
        by_photons[n] = by_photons.get(n, 0.0) + p
    detected = 1 - (1 - t) ** 3  # a shot is an event with at least one photon: the vacuum is no outcome
    assert by_photons == pytest.approx({k: comb(3, k) * t**k * (1 - t) ** (3 - k) / detected for k in range(1, 4)},
                                       abs=1e-12)
