"""Each name, default and spelling has one home (issue 23's leftovers): these pin what users see of that."""
from __future__ import annotations

import pytest

from pytest_cloudjob import Job, UnknownJobFieldError
from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.cloud_objects import User
from pytest_cloudjob.run.job_factory import JobFactory
from pytest_cloudjob.run.settings import SETTINGS


def test_the_scenario_languages_platform_argument_given_to_job_is_refused_with_the_seed_name():
    """``Job(platform="qpu:qa")`` used to build a ``sim:qa`` job with ``platform`` as an extra, silently."""
    with pytest.raises(UnknownJobFieldError, match=r"unexpected keyword argument 'platform': did you mean "
                                                   r"'platform_name'\?"):
        Job(platform="qpu:qa")


def test_the_job_factory_refuses_the_platform_argument_too():
    factory = JobFactory(CloudContext("http://127.0.0.1:9"), User("token-u"), None, platform_name="sim:qa",
                         pcvl_version="0.12.0", process_id="run")
    with pytest.raises(UnknownJobFieldError, match="did you mean 'platform_name'"):
        factory(platform="qpu:qa")
    assert factory().platform_name == "sim:qa"


def test_a_cloud_record_with_a_platform_field_is_read_not_refused():
    """A record is the cloud's to write: its ``platform`` is an extra, never an error."""
    job = Job.from_record({"job_id": "j", "platform_name": "qpu:qa", "platform": "x"})
    assert (job.platform_name, job.extra["platform"]) == ("qpu:qa", "x")


def test_the_seeds_names_and_defaults_are_unchanged():
    job = Job()
    assert (job.platform_name, job.job_name, job.pcvl_version) == ("sim:qa", "qa_job", "0.12.0")
    assert (Job.DEFAULT_PLATFORM_NAME, Job.platform_name, Job.job_name, Job.pcvl_version) == (
        "sim:qa", "sim:qa", "qa_job", "0.12.0")


def test_the_run_settings_default_to_the_jobs_own_defaults():
    factory = JobFactory(CloudContext("http://127.0.0.1:9"), User("token-u"), None,
                         platform_name=SETTINGS["platforms"].default[0],
                         pcvl_version=SETTINGS["pcvl_version"].default, process_id="run")
    job, seed = factory(), Job()
    assert (job.platform_name, job.job_name, job.pcvl_version) == (seed.platform_name, seed.job_name,
                                                                    seed.pcvl_version)


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_every_setting_is_spelt_after_its_key(key: str) -> None:
    """``--cloud-x``, ``CLOUDJOB_X``, ``cloud_x``: a user guesses one spelling from another."""
    setting = SETTINGS[key]
    option = "--cloud-platform" if key == "platforms" else "--cloud-" + key.replace("_", "-")
    assert (setting.option, setting.env, setting.ini) == (option, "CLOUDJOB_" + key.upper(), "cloud_" + key)
