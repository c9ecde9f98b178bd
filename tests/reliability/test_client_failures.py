"""A Python test whose job fails reads like a failing scenario: one error naming the cloud's reason, no
lines of the plugin's own source (``__tracebackhide__``), and reading the results of such a job says why
there are none. Real sessions (``pytester``) against the embedded reference cloud, which ends a job with an
unknown command as ``error`` with ``failure_code: UNKNOWN_COMMAND``."""
from __future__ import annotations

import pytest

FAILING_JOBS = """
    import pytest

    def test_wait(cloud_context, cloud_user, cloud_job_factory):
        job = cloud_job_factory.create(payload={"command": "no_such_command"})
        job.wait_until(cloud_context, cloud_user, "completed", timeout=30)

    def test_results(cloud_context, cloud_user, cloud_job_factory):
        job = cloud_job_factory.create(payload={"command": "no_such_command"})
        with pytest.raises(Exception):
            job.wait_until(cloud_context, cloud_user, "completed", timeout=30)
        job.get_results_data(cloud_context, cloud_user)

    def test_typo(cloud_job_factory):
        cloud_job_factory(platfrom_name="qpu:qa")
"""


def test_failures_of_python_tests_name_the_clouds_reason_without_the_plugins_source(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_JOBS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*UnexpectedEndError: job *: job ended as error (failure_code: UNKNOWN_COMMAND; "
        "status_message: unknown command 'no_such_command'); expected completed; history: *",
        "*ResultsNotReadyError: job *: results are null: the job is error; expected completed; history: *",
        "*UnknownJobFieldError: Job() got an unexpected keyword argument 'platfrom_name': did you mean 'platform_name'?*",
    ])
    # The client's frames are hidden: what is shown is the test's own line.
    for source in ("pytest_cloudjob/api/", "def wait_until", "def call(", "wait_for(", "def wrapper("):
        assert source not in out, f"{source!r} shown in:\n{out}"
    assert "job.wait_until(cloud_context, cloud_user, \"completed\", timeout=30)" in out
