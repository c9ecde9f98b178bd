"""What the physics costs per job stays paid once: a job's experiment is read once by the cloud's worker, the
states of Perceval's answer are turned into text once (docs/benchmarks.md, the physics cost at 12 x 6)."""
from __future__ import annotations

import pytest
from physics_jobs import experiment, haar, pcvl

from pytest_cloudjob.physics import simulate
from pytest_cloudjob.server import results


@pytest.fixture
def no_cache(monkeypatch):
    monkeypatch.setenv("CLOUDJOB_PHYSICS_CACHE", "off")


def counting(monkeypatch, owner, name):
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_job_reads_its_experiment_once_and_writes_its_states_once(no_cache, monkeypatch):
    from perceval.serialization import serialize

    payload = {"command": "sample_count", "experiment": serialize(experiment(haar)), "max_shots": 1000}
    reads = counting(monkeypatch, simulate, "runs_of")
    texts = counting(monkeypatch, simulate, "as_text")
    results.make_results(payload, 1, "job", platform_details=dict)
    assert (len(reads), len(texts)) == (1, 1)


def test_the_bound_on_the_unlisted_mass_writes_no_states(no_cache, monkeypatch):
    texts = counting(monkeypatch, simulate, "as_text")
    noisy = experiment(haar)
    noisy.noise = pcvl.NoiseModel(g2=0.02)
    exact = simulate.exact(noisy)  # two SLOS runs: the converged one, and a coarser one for its mass only
    assert len(texts) == 1 and exact.unlisted > 0


def test_the_states_text_is_the_one_str_writes_for_each_state():
    answer = pcvl.Processor("SLOS", simulate.prepared(experiment(haar))).probs()["results"]
    assert simulate.as_text(answer) == {str(state): float(p) for state, p in answer.items()}
