"""Every physics defect of the ``--break`` catalogue is caught by the distribution check at 1000-10000 shots,
and the very same check passes against the honest cloud: the red is the defect's, not the check's."""
from __future__ import annotations

import pytest
from physics_jobs import haar, heralded, hom, submit, v1

from pytest_cloudjob.physics.distribution import DistributionMismatch, assert_distribution
from pytest_cloudjob.server.defects import PHYSICS_DEFECTS

# defect -> (experiment, platform, shots, reference) of the check that catches it
CAUGHT_BY = {
    "uniform-results": (hom, "sim:qa", 1000, "ideal"),
    "swapped-modes": (haar, "sim:qa", 1000, "ideal"),
    "distinguishable-photons": (hom, "sim:qa", 1000, "ideal"),
    "postselection-ignored": (heralded, "sim:qa", 1000, "ideal"),
    "noise-ignored": (hom, "qpu:qa", 10_000, "noisy"),
    "results-of-another-job": (haar, "sim:qa", 1000, "ideal"),
}


def test_every_physics_defect_has_a_check_that_catches_it():
    assert set(CAUGHT_BY) == set(PHYSICS_DEFECTS)


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
