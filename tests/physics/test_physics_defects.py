"""Every physics defect of the ``--break`` catalogue is caught by the distribution check at 1000-10000 shots,
and the very same check passes against the honest cloud: the red is the defect's, not the check's."""
from __future__ import annotations

import pytest
from physics_jobs import haar, heralded, hom, lossy, shipped_checks, submit, v1

from pytest_cloudjob.physics.distribution import DistributionMismatch, assert_distribution, check_distribution
from pytest_cloudjob.server.defects import CATALOGUE

HOM = "Hong-Ou-Mandel on a 50:50 beam splitter - the dip the platform advertises, no distinguishable photons"
HAAR = "a Haar-random 6-mode interferometer with 3 photons"
HERALDED = "heralds and postselection are applied"
LOSS = "photon loss follows Binomial(n, T) of the advertised transmittance"
# defect -> (experiment, platform, shots, reference) of the check that catches it at 1000 shots where it can
CAUGHT_BY = {
    "uniform-results": (hom, "sim:qa", 1000, "ideal"),
    "swapped-modes": (haar, "sim:qa", 1000, "ideal"),
    "distinguishable-photons": (hom, "sim:qa", 1000, "ideal"),
    "postselection-ignored": (heralded, "sim:qa", 1000, "ideal"),
    "noise-ignored": (lossy, "qpu:qa", 10_000, "noisy"),  # HOM on threshold detectors: one coincidence
    "results-of-another-job": (haar, "sim:qa", 1000, "ideal"),
    "transmittance-halved": (lossy, "qpu:qa", 10_000, "noisy"),
    "vacuum-reported": (lossy, "qpu:qa", 10_000, "noisy"),
}
# defect -> (shipped scenario, platform) that catches it as shipped (10000 shots, alpha 1e-6)
CAUGHT_BY_SCENARIO = {
    "uniform-results": (HOM, "sim:qa"),
    "swapped-modes": (HAAR, "sim:qa"),
    "distinguishable-photons": (HOM, "sim:qa"),
    "postselection-ignored": (HERALDED, "sim:qa"),
    "noise-ignored": (LOSS, "qpu:qa"),
    "results-of-another-job": (HAAR, "sim:qa"),
    "transmittance-halved": (LOSS, "qpu:qa"),  # realistic-size drifts, caught on the QPU platform alone
    "vacuum-reported": (LOSS, "qpu:qa"),
}


def test_every_physics_defect_has_a_check_that_catches_it():
    # caught by the datasheet checks alone: tests/physics/test_datasheet.py
    drifts = {"g2-drifted", "hom-drifted", "detector-weak"}
    perf = {"physical-perf-wrong"}  # samples right, perf wrong: the acceptance check, tests/physics/test_acceptance.py
    assert set(CAUGHT_BY) == set(CAUGHT_BY_SCENARIO) == {d.name for d in CATALOGUE.values() if d.physics} - drifts - perf


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_the_distribution_check_catches(physics_cloud, broken_cloud, defect):
    build, platform, shots, reference = CAUGHT_BY[defect]
    text, context = submit(physics_cloud, v1(build, shots=shots), platform=platform)
    assert_distribution(text, reference, alpha=1e-6, context=context)

    cloud = broken_cloud(defect)
    if defect == "results-of-another-job":
        submit(cloud, v1(hom, shots=shots))  # the job whose results the next one gets
    text, context = submit(cloud, v1(build, shots=shots), platform=platform)
    with pytest.raises(DistributionMismatch, match="does NOT match") as caught:
        assert_distribution(text, reference, alpha=1e-6, context=context)
    assert "worst outcomes" in str(caught.value)


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY_SCENARIO))
def test_a_shipped_scenario_catches(broken_cloud, defect):
    name, platform = CAUGHT_BY_SCENARIO[defect]
    check = shipped_checks()[name]
    cloud = broken_cloud(defect)
    if defect == "results-of-another-job":
        submit(cloud, shipped_checks()[HOM].payload)
    text, context = submit(cloud, check.payload, platform=platform)
    problems = check_distribution(text, check.spec, "results", context)
    assert len(problems) == 1 and "does NOT match" in problems[0]
