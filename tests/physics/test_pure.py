"""A pure experiment's reference from Perceval's SLOS back-end (physics/pure.py) is the distribution Perceval's
``Processor`` gives, state for state, and anything not pure goes Perceval's way."""
from __future__ import annotations

import exqalibur
import numpy
import pytest
from physics_jobs import experiment, haar, haar_unitary, heralded, hom, lossy, pcvl

from pytest_cloudjob.physics import pure, simulate


def processor_answer(built) -> dict[str, float]:
    """What Perceval's Processor answers, as the reference cloud reads it."""
    return dict(simulate.exact(built).probs)


def pure_answer(built) -> dict[str, float]:
    listed = pure.distribution(simulate.prepared(built), simulate.PRECISION)
    assert listed is not None, "a unitary circuit on a Fock input, with nothing else, is pure"
    return dict(listed)


@pytest.mark.parametrize(("modes", "photons"), [(1, 1), (2, 3), (3, 2), (5, 4), (7, 3), (4, 9)])
def test_the_states_are_exqaliburs_in_its_order(modes, photons):
    layout = pure._layout(modes, photons)
    assert layout is not None, "exqalibur lists the states in the order built here"
    states, ranks = layout
    fsa = exqalibur.FSArray(modes, photons)
    assert states.tolist() == [str(fsa[i]).encode() for i in range(fsa.count())]
    assert bool((numpy.diff(ranks) < 0).all()), "ranks fall strictly: the table needs no sort to be searched"


@pytest.mark.parametrize("state", [[1, 1, 1, 0, 0, 0], [2, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 3], [1, 0, 1, 0, 1, 1]])
def test_a_pure_experiment_gets_the_distribution_perceval_gives(state):
    built = pcvl.Experiment()
    built.set_circuit(pcvl.Unitary(haar_unitary(6)))
    built.with_input(pcvl.BasicState(state))
    expected, got = processor_answer(built), pure_answer(built)
    assert set(expected) == set(got), "the same states as Perceval's at the reference's precision"
    assert max(abs(expected.get(s, 0.0) - p) for s, p in got.items()) < 1e-12
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-12)


def test_one_state_space_serves_circuits_and_inputs_one_after_another():
    """The back-end is kept per state space: each call still answers for its own circuit and input."""
    rng = numpy.random.default_rng(7)
    inputs = [[1, 1, 0, 0, 1], [0, 2, 0, 1, 0], [3, 0, 0, 0, 0]]
    for round_ in range(6):
        built = pcvl.Experiment()
        z = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))
        built.set_circuit(pcvl.Unitary(pcvl.Matrix(numpy.linalg.qr(z)[0])))
        built.with_input(pcvl.BasicState(inputs[round_ % 3]))
        expected, got = processor_answer(built), pure_answer(built)
        assert max(abs(expected.get(s, 0.0) - p) for s, p in got.items()) < 1e-12, f"round {round_}"


def test_hom_lists_no_state_of_probability_zero():
    got = pure_answer(experiment(hom))
    assert got == pytest.approx({"|2,0>": 0.5, "|0,2>": 0.5})


def test_photons_through_an_empty_circuit_stay_where_they_are():
    assert pure_answer(experiment(lossy)) == {"|1,1,1>": 1.0}


def noisy(built):
    built.noise = pcvl.NoiseModel(brightness=0.9, indistinguishability=0.9)
    return built


def threshold(built):
    for mode in range(built.m):
        built.add(mode, pcvl.Detector.threshold())
    return built


def annotated(built):
    built.with_input(pcvl.NoisyFockState("|{0},{1},{2},0,0,0>"))  # three photons, each distinguishable
    return built


def filtered_above_its_photons(built):
    built.min_detected_photons_filter(4)
    return built


@pytest.mark.parametrize("build", [
    lambda: experiment(heralded), lambda: noisy(experiment(haar)),
    lambda: threshold(experiment(haar)), lambda: annotated(experiment(haar)),
    lambda: filtered_above_its_photons(experiment(haar)),
], ids=["heralded-postselected", "noisy", "threshold-detectors", "distinguishable-input",
        "filter-above-photons"])
def test_what_is_not_pure_goes_perceval_s_way(build):
    built = build()
    assert pure.distribution(simulate.prepared(built), simulate.PRECISION) is None
    via_check = simulate.exact(built, by_backend=True)
    assert dict(via_check.probs) == dict(simulate.exact(built).probs)


def test_a_circuit_the_back_end_refuses_fails_as_perceval_s_processor_fails():
    """An unset parameter: no array, and the reference's error is the one Perceval's Processor raises."""
    built = pcvl.Experiment()
    built.set_circuit(pcvl.Circuit(2) // pcvl.BS() // pcvl.PS(pcvl.P("phi")))
    built.with_input(pcvl.BasicState([1, 1]))
    assert pure.distribution(simulate.prepared(built), simulate.PRECISION) is None
    with pytest.raises(Exception) as via_check:
        simulate.exact(built, by_backend=True)
    with pytest.raises(Exception) as via_processor:
        simulate.exact(built)
    assert type(via_check.value) is type(via_processor.value) and str(via_check.value) == str(via_processor.value)
    assert pure_answer(experiment(hom)) == pytest.approx({"|2,0>": 0.5, "|0,2>": 0.5}), "the next one still works"


def test_random_sizes_inputs_and_filters_agree_with_perceval():
    """20 experiments of 2-8 modes, 1-5 photons anywhere (bunched too), a filter from 1 to the photon count."""
    rng = numpy.random.default_rng(2026)
    for round_ in range(20):
        modes, photons = int(rng.integers(2, 9)), int(rng.integers(1, 6))
        state = numpy.bincount(rng.integers(0, modes, photons), minlength=modes).tolist()
        z = rng.standard_normal((modes, modes)) + 1j * rng.standard_normal((modes, modes))
        built = pcvl.Experiment()
        built.set_circuit(pcvl.Unitary(pcvl.Matrix(numpy.linalg.qr(z)[0])))
        built.with_input(pcvl.BasicState(state))
        built.min_detected_photons_filter(int(rng.integers(1, photons + 1)))
        expected, got = processor_answer(built), pure_answer(built)
        assert set(expected) == set(got), f"round {round_}: {modes} modes, input {state}"
        assert max(abs(expected[s] - p) for s, p in got.items()) < 1e-12, f"round {round_}: {modes} modes, input {state}"
