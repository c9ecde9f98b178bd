"""A physics check in a Python test (docs/physics.md): Hong-Ou-Mandel results match the platform's own
physics, at a false-alarm rate of at most 1e-6. Needs the physics extra (skipped without it)."""
import pytest

from pytest_cloudjob import Platform
from pytest_cloudjob.physics.distribution import DistributionContext, assert_distribution

pcvl = pytest.importorskip("perceval", reason="needs the physics extra: pip install 'pytest-cloudjob[physics]'")
from perceval.serialization import serialize  # noqa: E402


def test_hong_ou_mandel(cloud_context, cloud_user, cloud_job_factory, cloud_platform):
    experiment = pcvl.Experiment(pcvl.BS())                     # a 50:50 beam splitter
    experiment.with_input(pcvl.BasicState([1, 1]))              # one photon in each input
    experiment.min_detected_photons_filter(2)
    payload = {"command": "sample_count", "max_shots": 10_000, "experiment": serialize(experiment)}
    job = cloud_job_factory.create(payload=payload)
    job.wait_until(cloud_context, cloud_user, "completed", timeout=60)

    results = job.get_results(cloud_context, cloud_user)["results"]
    context = DistributionContext(payload, lambda: Platform(cloud_platform).details(cloud_context, cloud_user))
    assert_distribution(results, "noisy", alpha=1e-6, context=context)  # the platform's advertised HOM (%)
