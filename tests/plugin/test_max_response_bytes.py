"""``max_response_bytes`` is a plugin setting like the others (``--cloud-max-response-bytes``,
``CLOUDJOB_MAX_RESPONSE_BYTES``, ini ``cloud_max_response_bytes``), not only ``CloudContext``'s argument."""
from __future__ import annotations

import pytest

from pytest_cloudjob.run.settings import parse_byte_size

pytestmark = pytest.mark.usefixtures("clean_environment")

STATUS_TEST = """
def test_status(cloud_context, cloud_user, cloud_job_factory):
    print("LIMIT", cloud_context.max_response_bytes)
    job = cloud_job_factory.create()
    job.get_status(cloud_context, cloud_user)
"""


@pytest.mark.parametrize("text,size", [("4194304", 4194304), ("512KiB", 512 * 1024), ("4MiB", 4 * 1024 ** 2),
                                       ("4M", 4 * 1024 ** 2), ("1GB", 10 ** 9), ("1.5kb", 1500), (" 10 b ", 10)])
def test_sizes_are_read_with_their_unit(text, size):
    assert parse_byte_size(text) == size


@pytest.mark.parametrize("text", ["0", "-1", "lots", "4 parsecs", "", True])
def test_a_size_that_is_not_one_is_refused(text):
    assert parse_byte_size(text) is None


def test_the_option_limits_every_body_the_fixtures_read(pytester, against):
    pytester.makepyfile(STATUS_TEST)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--cloud-max-response-bytes", "100")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*LIMIT 100", "*CloudApiError: GET /api/job/status/* -> HTTP 200; response body larger "
                                 "than the client's limit of 100 bytes*"
                                 "raise it with --cloud-max-response-bytes*"])
    assert "0 leaked" in result.stdout.str(), "the sweep's listing is not held to a limit lowered for the tests"


def test_the_environment_and_the_ini_key_set_it_too(pytester, against, monkeypatch):
    pytester.makepyfile(STATUS_TEST)
    pytester.makeini("[pytest]\ncloud_max_response_bytes = 2MB\n")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LIMIT 2000000"])
    monkeypatch.setenv("CLOUDJOB_MAX_RESPONSE_BYTES", "1KiB")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*LIMIT 1024"])


def test_a_wrong_size_stops_the_run_naming_the_setting(pytester, against):
    pytester.makepyfile(STATUS_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "--cloud-max-response-bytes", "lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --cloud-max-response-bytes: the largest response body must be a positive "
                                 "number of bytes*got 'lots' (--cloud-max-response-bytes / CLOUDJOB_MAX_RESPONSE_BYTES"
                                 " / cloud_max_response_bytes)"])
