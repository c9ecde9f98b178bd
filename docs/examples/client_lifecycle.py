"""The client from Python: create a job, wait for it, read its results (README, "The client from Python")."""
import os

from pytest_cloudjob import CloudContext, Job, User

with CloudContext(os.environ["CLOUDJOB_URL"]) as context:     # timeouts, TLS, proxies, retries, paths
    user = User(token=os.environ["CLOUDJOB_TOKEN"])           # repr and errors never show the token
    job = Job(platform_name="sim:qa")                         # the seed API: defaults sim:qa / qa_job
    job.create(context, user)
    job.wait_until(context, user, "completed", timeout=30)    # adaptive polling, state machine checked
    print(job.get_results(context, user))
