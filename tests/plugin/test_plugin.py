"""The plugin through real pytest sessions (``pytester``): fixtures, platforms, xdist, leaks, settings,
early errors and secrets."""
from __future__ import annotations

import json
import re

import pytest

from pytest_cloudjob import CloudContext, Job

pytestmark = pytest.mark.usefixtures("clean_environment")  # tests/conftest.py: no developer CLOUDJOB_* variable

LIFECYCLE = """
    def test_lifecycle(cloud_context, cloud_user, cloud_job_factory, cloud_platform):
        job = cloud_job_factory.create()
        assert job.platform_name == cloud_platform and job.job_name == "qa_job"
        job.wait_until(cloud_context, cloud_user, "completed", timeout=30)
        assert job.get_results(cloud_context, cloud_user)["results"]
"""




def run_id_of(result) -> str:
    match = re.search(r"run id: (run-[0-9a-f-]+)", result.stdout.str())
    assert match, result.stdout.str()
    return match.group(1)


def test_fixtures_work_against_the_embedded_cloud(pytester):
    pytester.makepyfile(LIFECYCLE + """
    from pytest_cloudjob import CloudContext, User, Job

    def test_fixture_types(cloud_context, cloud_user, cloud_other_user, cloud_admin, cloud_slow_platform):
        assert isinstance(cloud_context, CloudContext) and cloud_context.url.startswith("http://127.0.0.1:")
        assert not cloud_user.is_admin and not cloud_other_user.is_admin and cloud_admin.is_admin
        assert cloud_user != cloud_other_user
        assert cloud_slow_platform == "sim:slow"

    def test_factory_overrides_and_run_id(cloud_job_factory, cloud_run):
        job = cloud_job_factory(job_name="custom", payload={"command": "probs"})
        assert (job.job_name, job.payload, job.process_id) == ("custom", {"command": "probs"}, cloud_run.run_id)
        assert Job().process_id == cloud_run.run_id
    """)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_lifecycle?sim:qa? PASSED*", "*target: embedded reference cloud http://127.0.0.1:*",
                                 "sim:qa * 1 * 1 *", "leak sweep: 1 job(s) of this run listed, 0 leaked"])


def test_two_platforms_give_two_items_and_the_marker_restricts(pytester):
    pytester.makepyfile(LIFECYCLE + """
    import pytest

    @pytest.mark.cloud_platforms("qpu:qa")
    def test_only_qpu(cloud_platform):
        assert cloud_platform == "qpu:qa"

    @pytest.mark.cloud_platforms("qpu:elsewhere")
    def test_nowhere(cloud_platform):
        raise AssertionError("must not run")

    def test_no_platform_needed():
        pass
    """)
    result = pytester.runpytest("-v", "-rs", "--cloud-platform", "sim:qa", "--cloud-platform", "qpu:qa")
    result.assert_outcomes(passed=4, skipped=1)
    result.stdout.fnmatch_lines([
        "*test_lifecycle?sim:qa? PASSED*", "*test_lifecycle?qpu:qa? PASSED*", "*test_only_qpu?qpu:qa? PASSED*",
        "*SKIPPED*restricted to qpu:elsewhere by its cloud_platforms marker, and none is configured*",
    ])


def test_xdist_runs_one_server_for_all_workers(pytester):
    pytester.makeconftest("""
    import os, json, pytest

    @pytest.fixture(autouse=True)
    def where(request, cloud_context, cloud_run):
        out = request.config.rootpath / f"seen-{request.node.name}.json"
        out.write_text(json.dumps({"url": cloud_context.url, "run": cloud_run.run_id,
                                   "worker": os.environ.get("PYTEST_XDIST_WORKER")}))
    """)
    pytester.makepyfile(LIFECYCLE + """
    import pytest

    @pytest.mark.parametrize("n", range(6))
    def test_more(n):
        pass
    """)
    result = pytester.runpytest_subprocess("-n", "2", "--cloud-platform", "sim:qa", "--cloud-platform", "qpu:qa")
    result.assert_outcomes(passed=8)
    seen = [json.loads(p.read_text()) for p in pytester.path.glob("seen-*.json")]
    assert len(seen) == 8
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}
    assert len({s["url"] for s in seen}) == 1 and {s["run"] for s in seen} == {run_id_of(result)}
    result.stdout.fnmatch_lines(["qpu:qa * 1 * 1 *", "sim:qa * 1 * 1 *", "*0 leaked*"])


def test_a_test_failing_while_its_job_runs_leaves_no_active_job(pytester, against, admin):
    pytester.makepyfile("""
    def test_fails_mid_job(cloud_job_factory, cloud_slow_platform):
        cloud_job_factory.create(platform_name=cloud_slow_platform)
        raise AssertionError("boom while the job runs")
    """)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(failed=1)
    jobs = Job.list_all(CloudContext(against.url), admin, process_id=run_id_of(result))
    assert len(jobs) == 1 and jobs[0].status in ("cancel_requested", "canceled")
    result.stdout.fnmatch_lines(["*0 leaked*"])
    # created 1 = completed 0 + failed 0 + canceled 1 (by the factory's clean-up) + unended 0; leaked 0
    assert re.search(r"^sim:slow +1 +0 +0 +1 +0 .* 0$", result.stdout.str(), re.M), result.stdout.str()


def test_a_leaked_job_fails_the_run_and_names_its_test(pytester, against, admin):
    pytester.makepyfile("""
    from pytest_cloudjob import Job

    def test_leaks(cloud_context, cloud_user, cloud_slow_platform):
        Job(platform_name=cloud_slow_platform).create(cloud_context, cloud_user)
    """)
    result = pytester.runpytest()
    assert result.ret == 1
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["sim:slow * 1 *", "leak sweep: FAILED, 1 job(s) of this run were still active*",
                                 "*(sim:slow, running) made by "
                                 "test_a_leaked_job_fails_the_run_and_names_its_test.py::test_leaks"])
    jobs = Job.list_all(CloudContext(against.url), admin, process_id=run_id_of(result))
    assert [j.status for j in jobs] in (["cancel_requested"], ["canceled"])


def test_other_and_admin_fixtures_skip_with_a_reason_when_no_token(pytester, against, monkeypatch):
    monkeypatch.delenv("CLOUDJOB_OTHER_TOKEN")
    monkeypatch.delenv("CLOUDJOB_ADMIN_TOKEN")
    pytester.makepyfile("""
    def test_other(cloud_other_user): pass
    def test_admin(cloud_admin): pass
    def test_user(cloud_user): pass
    """)
    result = pytester.runpytest("-rs", "--cloud-no-sweep")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["leak sweep: no admin token*",
                                 "*no second regular user: set CLOUDJOB_OTHER_TOKEN*",
                                 "*no admin user: set CLOUDJOB_ADMIN_TOKEN*"])


PRINT_SETTINGS = """
    def test_settings(cloud_run):
        s = cloud_run.settings
        print("SETTINGS", s.platforms, s.timeout, s.slow_platform, s.pcvl_version)
"""


def test_option_beats_environment_beats_ini(pytester, monkeypatch):
    pytester.makeini("""
    [pytest]
    cloud_platforms = sim:qa qpu:qa
    cloud_timeout = 11
    cloud_slow_platform = qpu:qa
    cloud_pcvl_version = 0.1.ini
    """)
    pytester.makepyfile(PRINT_SETTINGS)
    monkeypatch.setenv("CLOUDJOB_TIMEOUT", "22")
    monkeypatch.setenv("CLOUDJOB_PCVL_VERSION", "0.2.env")
    result = pytester.runpytest("-s", "--cloud-timeout", "33")
    result.stdout.fnmatch_lines(["*SETTINGS ('sim:qa', 'qpu:qa') 33.0 qpu:qa 0.2.env"])
    monkeypatch.setenv("CLOUDJOB_PLATFORMS", "qpu:qa, sim:qa")
    result = pytester.runpytest("-s")
    result.stdout.fnmatch_lines(["*SETTINGS ('qpu:qa', 'sim:qa') 22.0 qpu:qa 0.2.env"])
    result = pytester.runpytest("-s", "--cloud-platform", "sim:qa")
    result.stdout.fnmatch_lines(["*SETTINGS ('sim:qa',) 22.0 qpu:qa 0.2.env"])


def test_tokens_from_a_token_file(pytester, reference_cloud):
    tokens = pytester.path / "tokens.env"
    tokens.write_text(f"# QA tokens\nCLOUDJOB_TOKEN={reference_cloud.tokens['user']}\n"
                      f"CLOUDJOB_ADMIN_TOKEN='{reference_cloud.tokens['admin']}'\n")
    pytester.makepyfile("def test_admin(cloud_admin, cloud_user): assert cloud_admin.is_admin")
    result = pytester.runpytest("--cloud-url", reference_cloud.url, "--cloud-token-file", str(tokens))
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("args,env,message", [
    (["--cloud-timeout", "soon"], {}, "--cloud-timeout: the job timeout must be a positive number of seconds, got 'soon'*"),
    (["--cloud-url", "ftp://x"], {"CLOUDJOB_TOKEN": "t-123456"}, "*must start with http:// or https://*--cloud-url*"),
    (["--cloud-url", "http://127.0.0.1:9"], {}, "*a cloud URL is set but no user token: set CLOUDJOB_TOKEN*"),
    (["--cloud-token-file", "missing.json"], {}, "*--cloud-token-file missing.json: cannot read it*"),
])
def test_configuration_errors_name_the_setting(pytester, monkeypatch, args, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile("def test_x(cloud_user): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def run_many(pytester, *args):
    pytester.makepyfile("""
    import pytest
    @pytest.mark.parametrize("n", range(30))
    def test_many(cloud_user, n): pass
    """)
    return pytester.runpytest(*args)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_an_unreachable_url_stops_the_run_early_with_one_line(pytester, monkeypatch, xdist):
    monkeypatch.setenv("CLOUDJOB_TOKEN", "t-unreachable")
    result = run_many(pytester, "--cloud-url", "http://127.0.0.1:9", *xdist)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert output.count("cannot reach http://127.0.0.1:9 (--cloud-url / CLOUDJOB_URL)") == 1
    assert "passed" not in output and "failed" not in output.replace("0 failed", "")


def test_a_cloud_behind_a_private_ca_is_verified_with_the_ca_bundle_variable(pytester, tls_cloud, monkeypatch):
    cloud = tls_cloud.cloud
    monkeypatch.setenv("CLOUDJOB_URL", cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", cloud.tokens["user"])
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", cloud.tokens["admin"])
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    pytester.makepyfile(LIFECYCLE)
    untrusted = pytester.runpytest_subprocess("-n", "2")
    assert untrusted.ret == pytest.ExitCode.USAGE_ERROR
    untrusted.stderr.fnmatch_lines([f"ERROR: cannot reach {cloud.url} (--cloud-url / CLOUDJOB_URL): "
                                    "*CERTIFICATE_VERIFY_FAILED*give its CA bundle with REQUESTS_CA_BUNDLE*"])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_cloud.ca_bundle))
    trusted = pytester.runpytest_subprocess("-n", "2")
    trusted.assert_outcomes(passed=1)
    assert "0 leaked" in trusted.stdout.str()


def test_a_refused_token_stops_the_run_early(pytester, reference_cloud, monkeypatch):
    monkeypatch.setenv("CLOUDJOB_TOKEN", "t-not-a-real-token")
    result = run_many(pytester, "--cloud-url", reference_cloud.url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (result.stdout.str() + result.stderr.str()).count("refused the user token with HTTP 401 (CLOUDJOB_TOKEN") == 1
    assert "t-not-a-real-token" not in result.stdout.str() + result.stderr.str()


def test_an_unknown_platform_stops_the_run_early(pytester):
    result = run_many(pytester, "--cloud-platform", "qpu:atlantis", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: unknown platform 'qpu:atlantis' on the embedded reference cloud*"])


def test_no_cloud_is_started_for_tests_that_do_not_use_it(pytester):
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "reference cloud" not in result.stdout.str() and "run id:" not in result.stdout.str()


@pytest.mark.heavy(seconds=3)
def test_a_token_is_never_printed(pytester, reference_cloud, monkeypatch):
    secret = reference_cloud.tokens["user"]
    monkeypatch.setenv("CLOUDJOB_URL", reference_cloud.url)
    monkeypatch.setenv("CLOUDJOB_TOKEN", secret)
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", reference_cloud.tokens["admin"])
    pytester.makepyfile("""
    import logging
    def test_prints_and_fails(cloud_user):
        token = cloud_user.get_token()
        print("stdout has", token)
        logging.getLogger("x").warning("log has %s", token)
        assert token == "something else"
    def test_passes_and_prints(cloud_user):
        print("header: Bearer " + cloud_user.get_token())
    """)
    outputs = []
    for args in (["-v"], ["-rA"], ["-rA", "-n", "2"], ["--help"], ["-v", "--setup-show", "-l"]):
        result = pytester.runpytest_subprocess(*args)
        outputs.append(result.stdout.str() + result.stderr.str())
    assert all(secret not in out for out in outputs)
    assert "stdout has ***" in outputs[1] and "Bearer ***" in outputs[1]
