"""The one redaction function and what routes through it: log records, decoded JSON, the step reporter."""
from __future__ import annotations

import json
import logging

import responses

from pytest_cloudjob import CloudContext, Job, User, reporting
from pytest_cloudjob.redaction import install_log_redaction, redact, redact_data, register_secret

SECRET = "s3cr3t-token-for-redaction-tests"
register_secret(SECRET)


def test_registered_secrets_and_bearer_values_are_masked_and_nothing_else():
    assert redact(f"token={SECRET}; Authorization: Bearer abc.def-ghi") == "token=***; Authorization: Bearer ***"
    assert redact("a status of 'running' at 0.5") == "a status of 'running' at 0.5"


def test_a_bearer_value_inside_a_json_string_keeps_the_json_valid():
    text = json.dumps({"message": "header was Bearer xyz\nnext line", "n": 1})
    assert json.loads(redact(text)) == {"message": "header was Bearer ***\nnext line", "n": 1}


def test_redact_data_masks_keys_and_values_at_any_depth():
    data = {"a": [SECRET, {"k": f"x {SECRET}"}], SECRET: 3, "n": None}
    assert redact_data(data) == {"a": ["***", {"k": "x ***"}], "***": 3, "n": None}


def test_every_log_record_is_redacted_while_installed(caplog):
    before = logging.getLogRecordFactory()  # the plugin's own, in this session
    uninstall = install_log_redaction()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("qa.redaction").info("token %s in args", SECRET)
            logging.getLogger("qa.redaction").info(f"token {SECRET} in the message")
    finally:
        uninstall()
    assert [r.getMessage() for r in caplog.records] == ["token *** in args", "token *** in the message"]
    assert SECRET not in caplog.text
    assert logging.getLogRecordFactory() is before  # undone


class _Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def step(self, title: str, summarise: bool = False):
        recorder = self

        class _Step:
            def __enter__(self):
                recorder.events.append(f"enter {title}{' (summarised)' if summarise else ''}")

            def __exit__(self, *exc):
                recorder.events.append(f"exit {title}")

        return _Step()

    def attach_text(self, name: str, text: str) -> None:
        self.events.append(f"attach {name}")

    def on_call(self, record) -> None:
        self.events.append(f"call {record.method} {record.endpoint}")


def test_job_methods_report_themselves_as_steps_with_their_calls():
    context, user = CloudContext("http://cloud.test"), User(token="tok-reporting-1234")
    with responses.RequestsMock() as rsps, reporting.reporting_to(_Recorder()) as recorder:
        rsps.add(responses.POST, "http://cloud.test/api/job", json={"job_id": "j-1"})
        rsps.add(responses.GET, "http://cloud.test/api/job/status/j-1", json={"status": "completed", "progress": 1.0})
        job = Job()
        job.create(context, user)
        job.wait_until(context, user, "completed", timeout=5)
    assert recorder.events == [
        "enter create job 'qa_job' on sim:qa", "call POST job_create", "exit create job 'qa_job' on sim:qa",
        "enter wait for job j-1 until completed (timeout 5s) (summarised)",
        "enter status of job j-1", "call GET job_status", "exit status of job j-1",
        "attach status history of job j-1", "exit wait for job j-1 until completed (timeout 5s)",
    ]


def test_a_url_password_is_masked_by_its_shape_and_the_rest_of_the_url_kept():
    assert redact("GET https://qa:hunter2@cloud.example/api/job failed") == \
        "GET https://qa:***@cloud.example/api/job failed"
    assert redact("see https://cloud.example/a:b@c and user@example.org") == \
        "see https://cloud.example/a:b@c and user@example.org"


def test_the_head_and_tail_of_a_long_secret_are_masked_as_pytest_shortens_it():
    register_secret(LONG := "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF")
    shortened = f"assert '{LONG[:12]}...{LONG[-12:]}' == 'x'"
    assert redact(shortened) == "assert '***...***' == 'x'"
    assert redact(LONG[:9]) == LONG[:9]  # shorter than a fragment: too common to mask


def test_a_logged_traceback_is_redacted_before_any_handler_formats_it(caplog):
    uninstall = install_log_redaction()
    try:
        with caplog.at_level(logging.INFO):
            try:
                raise ValueError(f"boom {SECRET}")
            except ValueError:
                logging.getLogger("qa.redaction").exception("failed")
    finally:
        uninstall()
    assert "ValueError: boom ***" in caplog.text and SECRET not in caplog.text


def test_a_skip_keeps_its_tuple_and_a_failure_its_crash_line():
    import pytest
    from _pytest._code.code import ExceptionChainRepr

    from pytest_cloudjob.redaction.files import redact_longrepr

    assert redact_longrepr(("t.py", 3, f"Skipped: Bearer {SECRET}")) == ("t.py", 3, "Skipped: Bearer ***")
    try:
        raise AssertionError(f"token {SECRET}")
    except AssertionError:
        info = pytest.ExceptionInfo.from_current()
    masked = redact_longrepr(info.getrepr())
    assert isinstance(masked, ExceptionChainRepr) and masked.reprcrash is not None
    assert masked.reprcrash.message == "AssertionError: token ***" and SECRET not in str(masked)


def test_each_encoded_form_of_a_token_from_the_issue_is_masked():
    """Issue 19's reproductions, one by one (the property test in tests/reliability/test_secret_forms.py
    generates tokens; these are the forms a reader checks by eye)."""
    import base64
    from urllib.parse import quote, quote_plus, urlencode

    token = 'qa/Tok+en=with\\back"slash_1'
    register_secret(token)
    forms = [quote(token), quote(token, safe=""), quote_plus(token), urlencode({"auth": f"Bearer {token}"}),
             base64.b64encode(f"Bearer {token}".encode()).decode(),
             base64.urlsafe_b64encode(f"user:{token}".encode()).decode().rstrip("="),
             json.dumps(token), json.dumps(token).replace("/", "\\/"),
             "".join(f"\\u{ord(c):04x}" for c in token), repr(token), token.upper(), token.lower()]
    for form in forms:
        masked = redact(f"the cloud said: {form} (end)")
        assert "***" in masked and "Tok" not in masked and "TOK" not in masked and "tok" not in masked, (form, masked)


def test_secret_variable_names_by_default_and_added_names():
    from pytest_cloudjob.redaction import add_secret_names, is_secret_name

    for name in ("QA_API_KEY", "GITHUB_TOKEN", "DB_PASSWD", "DB_PASSWORD", "GCP_CREDENTIALS", "BASIC_AUTH",
                 "SSH_KEY", "QA_PASS", "MY_PWD", "SESSION_ID", "AWS_SECRET_ACCESS_KEY", "PRIVATE_KEY_PEM",
                 "COOKIE_JAR", "qa_apikey"):
        assert is_secret_name(name), name
    for name in ("PWD", "OLDPWD", "COMPASS_HEADING", "MONKEY", "GIT_AUTHOR_NAME", "QA_JOB_NAME", "KEYBOARD"):
        assert not is_secret_name(name), name
    add_secret_names(["qa_custom_*"])
    assert is_secret_name("QA_CUSTOM_THING") and not is_secret_name("QA_OTHER_THING")


def test_the_masking_stream_masks_a_token_cut_across_writes_and_keeps_partial_lines_for_flush():
    import io

    from pytest_cloudjob.redaction.files import MaskingStream

    target = io.StringIO()
    stream = MaskingStream(target)
    stream.write(SECRET[:7])
    stream.write(SECRET[7:])
    assert target.getvalue() == ""  # a partial line waits, as on a line-buffered terminal
    stream.write(" and more\nstart of a line ")
    assert target.getvalue() == "*** and more\n"
    stream.flush()
    assert target.getvalue() == "*** and more\nstart of a line "
    assert stream.getvalue() == target.getvalue()  # the rest is the wrapped stream's
