"""A token echoed in another form than the raw one is masked too (issue 19, "Secrets in other forms"):
URL- and form-encoded, base64'd (at each byte alignment, both alphabets, padded or not), JSON-, ``\\u``-,
``repr``- and XML-escaped, upper- or lower-cased. A property over generated tokens for :func:`redact`
itself, then a few end-to-end runs where a cloud echoes the header and a test shows the echo."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

from _secret_forms import FORMS, TOKEN_ALPHABET, exposes
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_cloudjob import redaction
from pytest_cloudjob.redaction import redact, register_secret

tokens = st.text(alphabet=TOKEN_ALPHABET, min_size=8, max_size=48)
#: What surrounds an echo: nothing, prose, a JSON or header context, base64-looking letters.
surroundings = st.sampled_from([("", ""), ("echo: ", " (end)"), ('{"detail": "', '"}'), ("Authorization: ", "\n"),
                                ("x", "y")])


@contextlib.contextmanager
def only_secret(token: str) -> Iterator[None]:
    """``token`` as the one registered secret for the block: examples do not pile up in the registry."""
    empty: dict[str, Any] = {"_secrets": set(), "_forms": {}, "_pattern": None, "_needles": (),
                             "_lower_needles": (), "_long_secrets": (), "_base64_needles": ()}
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
