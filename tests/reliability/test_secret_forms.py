"""A token echoed in another form than the raw one is masked too (issue 19, "Secrets in other forms"):
URL- and form-encoded, base64'd (at each byte alignment, both alphabets, padded or not), JSON-, ``\\u``-,
``repr``- and XML-escaped, upper- or lower-cased. A property over generated tokens for :func:`redact`
itself, then a few end-to-end runs where a cloud echoes the header and a test shows the echo."""
from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import pytest
from _secret_forms import FORMS, TOKEN_ALPHABET, exposes
from _support import artefacts
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_cloudjob import redaction
from pytest_cloudjob.redaction import redact, register_secret

RUN_TIMEOUT = 120
tokens = st.text(alphabet=TOKEN_ALPHABET, min_size=8, max_size=48)
#: What surrounds an echo: nothing, prose, a JSON or header context, base64-looking letters.
surroundings = st.sampled_from([("", ""), ("echo: ", " (end)"), ('{"detail": "', '"}'), ("Authorization: ", "\n"),
                                ("x", "y")])


@contextlib.contextmanager
def only_secret(token: str) -> Iterator[None]:
    """``token`` as the one registered secret for the block: examples do not pile up in the registry."""
    empty: dict[str, Any] = {"_secrets": set(), "_forms": {}, "_compiled": {}, "_ordered": (), "_pattern": None,
                             "_needles": (), "_long_secrets": ()}
    with mock.patch.multiple(redaction, **{name: value for name, value in empty.items() if hasattr(redaction, name)}):
        register_secret(token)
        yield


def test_the_oracle_finds_the_token_in_every_form():
    """Each form holds the token (so a test below that finds nothing could have found it)."""
    token = 'Ab-c_d.e~f+g/h=i\\j"kLm0'
    for name, form in FORMS.items():
        assert exposes(f"echo: {form(token)} (end)", token), name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(token=tokens, surrounding=surroundings)
@example(token="AAAAUUUU", surrounding=("", ""))  # \u0055: a raw "\u" must not end the match early
@example(token='a\\\\\\"b/c+d', surrounding=('"', '"'))  # backslash runs and a quote, escaped twice in a repr
@example(token="0000\\X00", surrounding=("", ""))  # JSON's \\X00: an escaped backslash, or \X00 after one
def test_every_form_of_a_registered_token_is_masked(token: str, surrounding: tuple[str, str]):
    before, after = surrounding
    with only_secret(token):
        for name, form in FORMS.items():
            text = before + form(token) + after
            masked = redact(text)
            assert not exposes(masked, token), f"{name}: {text!r} -> {masked!r}"
            assert "***" in masked, name


@settings(max_examples=300, deadline=None)
@given(token=tokens, text=st.text(alphabet=TOKEN_ALPHABET + " :{}%&#;", max_size=200))
def test_redact_keeps_every_text_that_holds_no_form_of_the_token(token: str, text: str):
    """The masks fall on the token's forms only: a text that does not expose the token is kept whole."""
    if exposes(text, token) or "***" in text:
        return
    with only_secret(token):
        masked = redact(text)
    # The shape masks (a Bearer value, a URL password) are the only other changes allowed.
    assert masked == text or redaction._BEARER.search(text) or redaction._URL_PASSWORD.search(text)


@st.composite
def near_misses(draw: Any) -> tuple[str, str]:
    """A short token (no head or tail masking) and its raw or JSON form with one character changed."""
    token = draw(st.text(alphabet=TOKEN_ALPHABET, min_size=8, max_size=19))
    at = draw(st.integers(0, len(token) - 1))
    other = draw(st.sampled_from(TOKEN_ALPHABET).filter(lambda c: c.lower() != token[at].lower()))
    changed = token[:at] + other + token[at + 1:]
    return token, draw(st.sampled_from([changed, json.dumps(changed)]))


@settings(max_examples=300, deadline=None)
@given(case=near_misses())
def test_a_near_miss_of_the_token_is_kept(case: tuple[str, str]):
    token, text = case
    if exposes(text, token):
        return
    with only_secret(token):
        masked = redact(text)
    assert masked == text or redaction._BEARER.search(text) or redaction._URL_PASSWORD.search(text)


# --- end to end: a cloud echoes the header in each form, a test shows the echo -------------------------------

ECHOING_TESTS = """
    import logging, os
    import allure, pytest, requests
    from pytest_cloudjob import CloudContext, Job, User

    URL = os.environ["ECHO_URL"]

    @pytest.mark.parametrize("form", range(int(os.environ["ECHO_FORMS"])))
    def test_the_cloud_echoes_the_header(form):
        token = os.environ["CLOUDJOB_TOKEN"]
        body = requests.get(f"{URL}/echo/{form}", headers={"Authorization": f"Bearer {token}"}, timeout=10).text
        print("the cloud answered", body)
        logging.getLogger("qa").warning("the cloud answered %s", body)
        allure.attach(body, "echo", allure.attachment_type.TEXT)
        with pytest.raises(Exception) as info:
            Job(job_id="j-1").read(CloudContext(URL), User(token=token))
        raise AssertionError(f"{body} / {info.value}")
"""


@contextlib.contextmanager
def echoing_cloud() -> Iterator[str]:
    """A cloud that answers every request 401 with its Authorization header's token in the form that the
    path's last segment names (an index in :data:`FORMS`); the token is echoed inside a JSON body."""
    forms = list(FORMS.values())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            last = self.path.rsplit("/", 1)[-1]
            form = forms[int(last)] if last.isdigit() else forms[0]
            data = json.dumps({"detail": f"invalid token: {form(token)}"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("capture", [[], ["-s"]], ids=["captured", "-s"])
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(token=st.text(alphabet=TOKEN_ALPHABET, min_size=12, max_size=40))
@example(token='QA-t0k\\en"with/a+quote=')
def test_a_cloud_echoing_the_header_in_any_form_shows_no_token(pytester, monkeypatch, capture, token):
    """Terminal, junit XML (with captured output and logs) and the Allure results folder."""
    run = pytester.mkdir(f"run-{uuid.uuid4().hex[:8]}")
    pytester.makepyfile(test_echo=ECHOING_TESTS)
    with echoing_cloud() as url:
        monkeypatch.setenv("CLOUDJOB_TOKEN", token)
        monkeypatch.setenv("ECHO_URL", url)
        monkeypatch.setenv("ECHO_FORMS", str(len(FORMS)))
        result = pytester.runpytest_subprocess(
            "test_echo.py", "-rA", f"--junitxml={run}/junit.xml", "-o", "junit_logging=all",
            f"--alluredir={run}/allure", "-p", "no:randomly", *capture, timeout=RUN_TIMEOUT)
    result.assert_outcomes(failed=len(FORMS))
    texts = {"stdout": result.stdout.str(), "stderr": result.stderr.str(), **artefacts(run)}
    assert "junit.xml" in texts and any(name.startswith("allure") for name in texts)
    leaked = [name for name, text in texts.items() if exposes(text, token)]
    assert not leaked, f"the token shows in {len(leaked)} of {len(texts)} outputs, e.g. {leaked[:4]}"
    assert texts["stdout"].count("invalid token: ***") >= len(FORMS)  # the echoes did arrive, masked
