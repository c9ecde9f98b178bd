"""A reference held as arrays (physics/table.py) reads as the dict it replaces and gives the same verdicts."""
from __future__ import annotations

import pytest
from physics_jobs import experiment, haar, pcvl

from pytest_cloudjob.physics import simulate, stats, table


@pytest.fixture(scope="module")
def answer():
    return pcvl.Processor("SLOS", simulate.prepared(experiment(haar))).probs(precision=simulate.PRECISION)["results"]


def tabled_of(answer) -> table.Table:
    tabled = table.of_distribution(answer)
    assert tabled is not None, "exqalibur's text of a plain distribution reads as a table"
    return tabled


def test_a_table_is_the_states_text_and_probabilities_perceval_gives(answer):
    tabled = tabled_of(answer)
    assert tabled == {str(state): float(p) for state, p in answer.items()}
    assert list(tabled) == [str(state) for state in answer]  # Perceval's own order: the cloud samples in it


def test_looking_states_up_finds_each_state_and_nothing_else(answer):
    tabled = tabled_of(answer)
    states = list(tabled)
    asked = [states[3], states[0], "|9,9>", states[0] + "x", states[0][:-1], "|é>", ""]
    assert tabled.indices(asked).tolist() == [3, 0, -1, -1, -1, -1, -1]
    assert tabled.indices(["|é>", states[5]]).tolist() == [-1, 5]


def test_a_table_reads_back_from_json_bit_for_bit(answer):
    tabled = tabled_of(answer)
    again = table.from_json(tabled.to_json())
    assert again is not None and again.states.tolist() == tabled.states.tolist()
    assert again.numbers.tobytes() == tabled.numbers.tobytes()
    assert table.from_json({"width": 3}) is None


@pytest.mark.parametrize("skew", [0, 300])
def test_the_verdict_against_a_table_is_the_one_against_its_dict(answer, skew):
    tabled = tabled_of(answer)
    states = list(tabled)
    counts = {s: 10 + i % 3 for i, s in enumerate(states[:40])}
    counts[states[1]] += skew
    counts["|0,0,0,0,0,0,0,0,0,0,0,0>"] = 2  # an outcome the reference does not list
    for vectorise in (True, False):  # the arrays (12 x 6 goes there) and the standard library
        assert stats.compare(counts, tabled, vectorise=vectorise) == stats.compare(counts, dict(tabled), vectorise=vectorise)
