"""Python tests with the plugin's fixtures (README, "From Python tests")."""


def test_lifecycle(cloud_context, cloud_user, cloud_job_factory):
    job = cloud_job_factory.create()          # current platform, qa_job, the run id as process_id
    job.wait_until(cloud_context, cloud_user, "completed", timeout=30)
