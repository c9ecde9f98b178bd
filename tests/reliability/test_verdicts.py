"""Run-level verdicts and early settings errors (issue 15): thresholds on the per-platform summary fail
the run naming platform, value and limit; the slow platform is checked before tests; a URL with /api and
durations in --cloud-timeout get what a user expects. pytester runs them in-process: no subprocess is what
these test (the plugin's run-level machinery is the same in a pytest run started either way)."""
from __future__ import annotations

import pytest

LIFECYCLE = """
    def test_lifecycle(cloud_job_factory, cloud_context, cloud_user):
        cloud_job_factory.create().wait_until(cloud_context, cloud_user, "completed", timeout=30)
"""


def test_thresholds_fail_the_run_naming_platform_value_and_limit(pytester, against, monkeypatch):
    pytester.makepyfile(LIFECYCLE)
    strict = pytester.runpytest("--cloud-max-p95", "sim:qa=1ms", "--cloud-max-status-calls", "sim:qa=0.5")
    strict.assert_outcomes(passed=1)
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines([
        "threshold FAILED: sim:qa: p95 time to finish *s exceeds the threshold 0.001s (--cloud-max-p95*",
        "threshold FAILED: sim:qa: * status calls per job exceeds the threshold 0.5 (--cloud-max-status-calls*"])
    lenient = pytester.runpytest("--cloud-max-p95", "sim:qa=2m", "--cloud-max-status-calls", "sim:qa=1000")
    assert lenient.ret == pytest.ExitCode.OK and "threshold FAILED" not in lenient.stdout.str()
    monkeypatch.setenv("CLOUDJOB_MAX_P95", "sim:qa=1ms")
    assert pytester.runpytest().ret == pytest.ExitCode.TESTS_FAILED
    monkeypatch.delenv("CLOUDJOB_MAX_P95")
    pytester.makeini("[pytest]\ncloud_max_status_calls = sim:qa=0.5\n")
    ini = pytester.runpytest()
    assert ini.ret == pytest.ExitCode.TESTS_FAILED
    ini.stdout.fnmatch_lines(["threshold FAILED: sim:qa: * status calls per job exceeds the threshold 0.5*"])


@pytest.mark.parametrize("args,message", [
    (["--cloud-max-p95", "sim:qa"], "--cloud-max-p95: expected PLATFORM=DURATION (e.g. sim:qa=5s), got 'sim:qa'*"),
    (["--cloud-max-p95", "sim:qa=soon"], "--cloud-max-p95: expected PLATFORM=DURATION*got 'sim:qa=soon'*"),
    (["--cloud-max-status-calls", "sim:qaa=3"],
     "--cloud-max-status-calls: threshold for 'sim:qaa', which is not a platform of this run*did you mean 'sim:qa'?*"),
    (["--cloud-timeout", "0s"], "--cloud-timeout: the job timeout must be a positive number of seconds, got '0s'*"),
    (["--cloud-url", "http://127.0.0.1:9/api"], "the cloud URL 'http://127.0.0.1:9/api' ends with /api, but the plugin "
                                                "adds /api/... to it itself: give the server's root, "
                                                "'http://127.0.0.1:9'*"),
    (["--cloud-no-sweep", "-o", "cloud_no_sweep=maybe"], None),
])
def test_wrong_run_level_settings_stop_the_run_naming_the_setting(pytester, monkeypatch, args, message):
    monkeypatch.setenv("CLOUDJOB_TOKEN", "t-settings-check")
    pytester.makepyfile("def test_x(cloud_user): pass")
    result = pytester.runpytest(*args)
    if message is None:  # the option wins over a wrong ini value, which is then never read
        assert result.ret == pytest.ExitCode.OK
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_the_timeout_takes_durations_as_the_scenarios_do(pytester):
    pytester.makepyfile("def test_settings(cloud_run): print('TIMEOUT', cloud_run.settings.timeout)")
    for value, seconds in (("90", "90.0"), ("30s", "30.0"), ("2m", "120.0"), ("500ms", "0.5")):
        result = pytester.runpytest("-s", "--cloud-timeout", value)
        result.stdout.fnmatch_lines([f"*TIMEOUT {seconds}"])


def test_the_slow_platform_is_checked_before_any_test(pytester, against):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.parametrize("n", range(20))
        def test_many(cloud_user, n): pass
    """)
    result = pytester.runpytest("--cloud-slow-platform", "sim:sloww")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert output.count("unknown platform 'sim:sloww' on") == 1
    assert "(--cloud-slow-platform / CLOUDJOB_SLOW_PLATFORM / cloud_slow_platform)" in output
    assert "passed" not in output


def test_a_url_with_a_path_prefix_that_the_cloud_does_not_serve_is_named_in_the_error(pytester, against):
    pytester.makepyfile("def test_x(cloud_user): pass")
    result = pytester.runpytest("--cloud-url", against.url + "/qa-prefix")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*unknown platform 'sim:qa' on *the cloud answered 404*; the URL has the path "
                                 "'/qa-prefix': if the cloud serves /api at its root, drop the path*"])
