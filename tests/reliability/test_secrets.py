"""Secrets are safe by construction: tokens checked when read, and every artefact of a run masked (terminal,
junit XML, the --debug trace, captured and live logs, warnings, skip and xfail reasons, INTERNALERROR,
a password in the cloud URL), with pytest's report types intact (issue 13, "Secrets")."""
from __future__ import annotations

import pytest
from _support import artefacts, assert_nowhere

RUN_TIMEOUT = 60


def output(result) -> dict[str, str]:
    return {"stdout": result.stdout.str(), "stderr": result.stderr.str()}


def test_a_token_with_a_trailing_newline_is_stripped_with_a_warning_naming_its_variable(pytester, against, monkeypatch):
    token = against.tokens["user"]
    monkeypatch.setenv("CLOUDJOB_TOKEN", token + "\n")  # what CLOUDJOB_TOKEN=$(cat token.txt) gives
    monkeypatch.setenv("CLOUDJOB_ADMIN_TOKEN", "  " + against.tokens["admin"] + "\r\n")
    pytester.makepyfile("""
        def test_lifecycle(cloud_job_factory, cloud_context, cloud_user):
            cloud_job_factory.create().wait_until(cloud_context, cloud_user, "completed", timeout=30)
    """)
    result = pytester.runpytest_subprocess("--junitxml=junit.xml", timeout=RUN_TIMEOUT)
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*CLOUDJOB_TOKEN: surrounding whitespace or newline removed from the token*",
                                 "*CLOUDJOB_ADMIN_TOKEN: surrounding whitespace or newline removed*", "*0 leaked*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    for secret in (token, against.tokens["admin"]):
        assert_nowhere(secret, {**output(result), **artefacts(pytester.path)})


@pytest.mark.parametrize("variable", ["CLOUDJOB_TOKEN", "CLOUDJOB_ADMIN_TOKEN"])
def test_a_token_with_inner_whitespace_is_refused_naming_the_variable_not_the_value(pytester, against, monkeypatch,
                                                                                  variable):
    monkeypatch.setenv(variable, "tok-first-half\ntok-second-half")
    pytester.makepyfile("def test_x(cloud_user): pass")
    result = pytester.runpytest_subprocess(timeout=RUN_TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {variable}: the token contains whitespace or control characters inside it*"])
    assert_nowhere("tok-first-half", output(result))


HOSTILE_TESTS = """
    import logging, os, warnings
    import pytest

    def token():
        return os.environ["CLOUDJOB_TOKEN"]

    def test_skip_reason(cloud_user):
        pytest.skip("skipped with Authorization: Bearer abc123def and " + token())

    @pytest.mark.xfail(reason="xfail names " + os.environ["CLOUDJOB_TOKEN"], strict=True)
    def test_xfail(cloud_user):
        raise AssertionError("expected " + token())

    def test_imperative_xfail(cloud_user):
        pytest.xfail("imperative " + token())

    def test_warning(cloud_user):
        warnings.warn("a warning carrying " + token())

    def test_logged_traceback(cloud_user):
        try:
            raise ValueError("the exception text has " + token())
        except ValueError:
            logging.getLogger("qa").exception("failed with %s", token())

    def test_failure(cloud_user, cloud_run):
        print("the url is", cloud_run.url)
        assert token() == "x", f"mismatch at {cloud_run.url}"
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_every_artefact_of_a_run_is_masked_and_reports_keep_their_types(pytester, against, monkeypatch, xdist):
    """The skip stays a tuple (pytest's -rs summary asserts it), the failure keeps its crash line."""
    secret = against.tokens["user"]
    password = "pa55-w0rd-in-the-url"
    url = against.url.replace("http://", f"http://qa:{password}@")  # on the command line: in --debug's header too
    pytester.makepyfile(HOSTILE_TESTS)
    result = pytester.runpytest_subprocess(
        "--cloud-url", url, "-rA", "--junitxml=junit.xml", "-o", "junit_logging=all", "--debug=debug.log", "-o", "log_cli=true",
        "--log-file=run.log", *xdist, timeout=RUN_TIMEOUT)
    result.assert_outcomes(passed=2, skipped=1, xfailed=2, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    everything = {**output(result), **artefacts(pytester.path)}
    assert {"junit.xml", "debug.log", "run.log"} <= set(everything)
    for fragment in (secret, secret[:12], secret[-12:], password):  # pytest shortens long strings to head...tail
        assert_nowhere(fragment, everything)
    assert_nowhere("abc123def", everything)
    out = result.stdout.str()
    assert "INTERNALERROR" not in out + result.stderr.str()
    result.stdout.fnmatch_lines(["E * AssertionError: mismatch at http://qa:***@127.0.0.1:*",
                                 "SKIPPED [[]1[]] *: skipped with Authorization: Bearer *** and ***"])
    # The failure kept pytest's exception representation: junit's message is its crash line alone.
    assert 'message="AssertionError: mismatch at http://qa:***@127.0.0.1' in everything["junit.xml"]
    assert "a warning carrying ***" in out and "xfail names ***" in out
    assert "ValueError: the exception text has ***" in everything["run.log"]


def test_an_internal_error_never_prints_a_token(pytester, against):
    pytester.makeconftest("""
        import os
        def pytest_runtest_logreport(report):
            raise RuntimeError("a plugin failed holding " + os.environ["CLOUDJOB_TOKEN"])
    """)
    pytester.makepyfile("def test_x(cloud_user): pass")
    result = pytester.runpytest_subprocess("--junitxml=junit.xml", timeout=RUN_TIMEOUT)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    assert "INTERNALERROR> RuntimeError: a plugin failed holding ***" in result.stdout.str() + result.stderr.str()
    assert_nowhere(against.tokens["user"], {**output(result), **artefacts(pytester.path)})


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_an_early_error_naming_the_url_masks_its_password(pytester, monkeypatch, xdist):
    monkeypatch.setenv("CLOUDJOB_TOKEN", "t-early-error-token")
    pytester.makepyfile("def test_x(cloud_user): pass")
    result = pytester.runpytest_subprocess("--cloud-url", "http://qa:pa55-early@127.0.0.1:9", *xdist,
                                           timeout=RUN_TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "cannot reach http://qa:***@127.0.0.1:9" in result.stdout.str() + result.stderr.str()
    assert_nowhere("pa55-early", {**output(result), **artefacts(pytester.path)})
    assert_nowhere("t-early-error-token", {**output(result), **artefacts(pytester.path)})


OWN_OUTPUT = """
    import os, sys

    def test_prints_its_token(capsys):
        token = os.environ["CLOUDJOB_TOKEN"]
        print(token)
        print("the token is", token)  # print writes its arguments one by one
        sys.stdout.write(token[:6])
        sys.stdout.write(token[6:] + "\\n")
        print("on stderr", token, file=sys.stderr)
        with capsys.disabled():
            print("capture disabled", token)
"""


@pytest.mark.parametrize("capture", [["-s"], ["--capture=tee-sys"], ["--capture=fd"]])
def test_a_tests_own_output_is_masked_when_it_reaches_the_terminal(pytester, against, capture):
    """With capture off (``-s``), teed, or inside ``capsys.disabled()``, a test's ``print(token)`` goes
    straight to the terminal, in no report: the standard streams themselves mask it."""
    pytester.makepyfile(OWN_OUTPUT)
    result = pytester.runpytest_subprocess(*capture, "-rA", timeout=RUN_TIMEOUT)
    result.assert_outcomes(passed=1)
    token = against.tokens["user"]
    assert_nowhere(token, output(result))
    assert_nowhere(token[6:], output(result))
    everything = result.stdout.str() + result.stderr.str()
    assert "capture disabled ***" in everything
    if capture == ["-s"]:
        assert "the token is ***" in result.stdout.str() and "on stderr ***" in result.stderr.str()


ENV_SECRETS = {"QA_API_KEY": "value-of-the-api-key", "DB_PASSWD": "value-of-the-db-passwd",
               "GCP_CREDENTIALS": "value-of-the-credentials", "BASIC_AUTH": "value-of-basic-auth",
               "QA_SESSION_ID": "value-of-the-session", "CUSTOM_THING": "value-of-a-custom-secret"}


def test_secret_environment_variables_are_masked_by_name_and_the_setting_adds_names(pytester, against,
                                                                                    monkeypatch):
    for name, value in {**ENV_SECRETS, "QA_JOB_LABEL": "a-plain-label"}.items():
        monkeypatch.setenv(name, value)
    path = "/".join(f"{{env.{name}}}" for name in (*ENV_SECRETS, "QA_JOB_LABEL"))
    pytester.makefile(".scenario.yaml", env_secrets=f"""
        name: env secrets in a path
        steps:
          - request: {{path: "/nowhere/{path}", expect: {{status: 200}}}}
    """)
    pytester.makepyfile("""
        import os
        def test_prints_a_named_secret():
            print("custom:", os.environ["CUSTOM_THING"])
            assert False, os.environ["CUSTOM_THING"]
    """)
    result = pytester.runpytest_subprocess("--cloud-secret-env", "custom_*", "-rA", "--junitxml=junit.xml",
                                           "-o", "junit_logging=all", timeout=RUN_TIMEOUT)
    result.assert_outcomes(failed=2)
    everything = {**output(result), **artefacts(pytester.path)}
    for value in ENV_SECRETS.values():
        assert_nowhere(value, everything)
    assert "/nowhere/***/***/***/***/***/***/a-plain-label" in result.stdout.str()  # a plain name is shown


def test_the_secret_env_setting_refuses_what_is_not_a_name(pytester, monkeypatch):
    monkeypatch.setenv("CLOUDJOB_SECRET_ENV", "QA_OK,not a name")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess(timeout=RUN_TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: CLOUDJOB_SECRET_ENV: 'not a name' is not an environment variable name "
                                 "or glob (--cloud-secret-env / CLOUDJOB_SECRET_ENV / cloud_secret_env)"])


TOKEN_IN_THE_NODE_ID = """
    import os
    import pytest

    TOKEN = os.environ["CLOUDJOB_TOKEN"]

    @pytest.mark.parametrize("tag", [TOKEN])
    def test_fails(cloud_user, tag, record_property):
        record_property("tag", tag)
        print("stdout has", tag)
        assert tag == "x", f"the message has {tag}"

    class TestRows:
        @pytest.mark.parametrize("row", [f"{TOKEN}-row"])
        def test_passes(self, cloud_user, row):
            pass
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_junit_never_carries_a_token_held_by_a_node_id(pytester, against, xdist):
    """A ``parametrize`` value is in the node id, from which pytest's junit writer names each test case: its
    ``name`` (and a ``record_property`` value, the message, system-out) must be masked too."""
    import xml.etree.ElementTree as ET

    secret = against.tokens["user"]
    pytester.makepyfile(test_rows=TOKEN_IN_THE_NODE_ID)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--junitxml=junit.xml", "-o", "junit_logging=all",
                                          *xdist)
    result.assert_outcomes(passed=1, failed=1)
    junit = (pytester.path / "junit.xml").read_text()
    assert_nowhere(secret, {"junit.xml": junit})
    cases = {case.get("name"): case for case in ET.fromstring(junit).iter("testcase")}  # still valid XML
    assert set(cases) == {"test_fails[***]", "test_passes[***-row]"}
    assert cases["test_passes[***-row]"].get("classname") == "test_rows.TestRows"
    failure = cases["test_fails[***]"].find("failure")
    assert failure is not None and "the message has ***" in failure.get("message", "")
    assert 'name="tag" value="***"' in junit and "stdout has ***" in junit
