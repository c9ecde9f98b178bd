"""The one redaction choke point: every error text, log line and report goes through :func:`redact`.

Tokens are registered as soon as a :class:`~pytest_cloudjob.User` is built, so a secret is masked
even in text the harness did not expect to carry it (an echoing server, a traceback). Passwords in a
URL's user-info (``https://user:pass@host``) are masked by shape, whether registered or not.
"""
from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable
from typing import Any

MASK = "***"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;\\]+")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/:@\"']*:)[^\s/@\"']+@")
_MIN_SECRET_LENGTH = 4
#: A long secret's head or tail of at least this many characters is masked too: pytest's assertion
#: messages shorten long strings to ``'86SMHLiG2yyh...yTrcuNk_H2GPl'``, which would show half a token.
_MIN_FRAGMENT = 10

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
#: Substrings that any text holding a secret (or a head or tail of one) contains: a fast ``in`` check
#: on them spares the regular expression for the text of almost every call, which holds none.
_needles: tuple[str, ...] = ()
_long_secrets: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (too-short values are refused as secrets)."""
    global _pattern, _needles, _long_secrets
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))
        _long_secrets = tuple(s for s in ordered if len(s) >= 2 * _MIN_FRAGMENT)
        _needles = tuple({n for s in ordered for n in ((s[:_MIN_FRAGMENT], s[-_MIN_FRAGMENT:])
                                                       if len(s) >= 2 * _MIN_FRAGMENT else (s,))})


def _mask_fragments(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every head and tail (``_MIN_FRAGMENT`` characters or more) of the long ``secrets``
    masked, each extended as far as it matches the secret."""
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        head, tail = secret[:_MIN_FRAGMENT], secret[-_MIN_FRAGMENT:]
        start = text.find(head)
        while start >= 0:
            end = start + _MIN_FRAGMENT
            while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
                end += 1
            spans.append((start, end))
            start = text.find(head, end)
        end = text.find(tail) + _MIN_FRAGMENT
        while end >= _MIN_FRAGMENT:
            start = end - _MIN_FRAGMENT
            while start > 0 and end - start < len(secret) and text[start - 1] == secret[len(secret) - (end - start) - 1]:
                start -= 1
            spans.append((start, end))
            end = text.find(tail, end) + _MIN_FRAGMENT
    if not spans:
        return text
    out, position = [], 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        out.append(text[position:max(start, position)])
        out.append(MASK if start >= position else "")
        position = end
    out.append(text[position:])
    return "".join(out)


def redact(text: object) -> str:
    """Return ``text`` as a string with bearer tokens, URL passwords and every registered secret masked."""
    out = text if isinstance(text, str) else str(text)
    pattern, needles, long_secrets = _pattern, _needles, _long_secrets
    if pattern is not None and any(needle in out for needle in needles):
        out = _mask_fragments(pattern.sub(MASK, out), long_secrets)
    out = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", out)
    return _BEARER.sub(lambda m: m.group(1) + MASK, out)


def redact_data(value: Any) -> Any:
    """``value`` (decoded JSON) with every string in it redacted, keys included; structure kept intact."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    if isinstance(value, dict):
        return {redact(k): redact_data(v) for k, v in value.items()}
    return value


def install_log_redaction() -> Callable[[], None]:
    """Make every log record of the process pass through :func:`redact`; returns the undo function.

    A record factory rather than a handler filter: it sees each record once, whichever handler (pytest's
    capture, a file, the console) ends up writing it. A record's traceback (``logging.exception``) and
    stack are formatted here, redacted, and kept as the record's text, so no handler formats them raw.
    """
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's own error to report, unchanged
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)

    def uninstall() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return uninstall
