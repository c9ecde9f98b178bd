"""The client's errors: a failed call reads in one line and never leaks a token."""
from __future__ import annotations

import json
from typing import Any

from pytest_cloudjob.errors import CloudJobError
from pytest_cloudjob.redaction import redact

BODY_EXCERPT_CHARS = 300
MAX_BODY_CHARS = 65536


def excerpt(value: Any, limit: int = BODY_EXCERPT_CHARS) -> str:
    """The start of ``value`` on one line, cut at ``limit`` characters: the text itself, or any other
    value as JSON (a decoded body reads as the cloud sent it, ``null`` not ``None``)."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except ValueError:  # a circular structure
            text = repr(value)
    flat = " ".join(text.split())
    return printable(flat if len(flat) <= limit else flat[: limit - 3] + "...")


def printable(text: str) -> str:
    """``text`` with every character a terminal would not show as itself escaped as ``repr`` does (a NUL
    as ``\\x00``, an ESC as ``\\x1b``, a line break as ``\\n``), and U+FFFD, the mark of bytes that
    were not UTF-8, as ``\\ufffd``: a garbage answer can neither drive the terminal nor hide in it."""
    if text.isprintable() and "\ufffd" not in text:
        return text  # the usual case, one C-speed scan
    return "".join(c if c.isprintable() and c != "\ufffd" else _escape(c) for c in text)


def _escape(char: str) -> str:
    escaped = repr(char)[1:-1]
    return escaped if escaped != char else f"\\u{ord(char):04x}"


class UnsafeRequestPathError(CloudJobError, ValueError):
    """A request path that would leave the cloud's URL (another host, port or scheme, or above its path);
    refused before anything is sent, so the bearer token goes nowhere else.

    A usage error of the caller (a scenario's filled ``path``, a Python test's ``Api.request``), never a
    verdict on the cloud: it is not a :class:`CloudApiError`, and its message carries none of the markers
    that file a report under cloud defects. A ``ValueError`` too, as a bad argument is.
    """

    def __init__(self, method: str, path: object, why: str) -> None:
        self.method = method
        self.path = redact(printable(repr(path) if not isinstance(path, str) else path))
        self.why = why
        super().__init__(f"{method} '{excerpt(self.path, 120)}' refused, not sent: {why}; a request path must "
                         "start with one '/' and stay below the cloud's URL (same scheme, host and port)")


class JobNotCreatedError(CloudJobError):
    """A call that needs a ``job_id`` was made on a ``Job`` that was never created."""


class UnknownJobFieldError(CloudJobError, TypeError):
    """``Job(...)`` got a keyword that looks like a misspelt field (``platfrom_name``): a ``TypeError``, as
    Python's own unexpected keyword is, and a :class:`CloudJobError`."""


class CloudApiError(CloudJobError):
    """A call to the cloud failed: an HTTP error, a transport error, or a response breaking the protocol.

    ``kind`` tells which: ``"http"`` (the cloud answered with an error status), ``"transport"`` (no
    answer: refused, reset, timed out) or ``"protocol"`` (an answer that is not what the protocol says,
    such as a body that is not JSON or a create without ``job_id``). It is a :class:`RuntimeError`, as
    the seed API documents.
    """

    def __init__(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        body: str = "",
        reason: str = "",
        kind: str = "http",
        attempts: int = 1,
        elapsed: float | None = None,
    ) -> None:
        self.method = method
        self.path = redact(path)
        self.status = status
        self.body = redact(body[:MAX_BODY_CHARS]) if body else ""
        self.body_excerpt = excerpt(self.body) if body else ""
        self.reason = redact(reason)
        self.kind = kind
        self.attempts = attempts
        self.elapsed = elapsed
        super().__init__(self._line())

    def _line(self) -> str:
        where = f"{self.method} {self.path}"
        outcome = f"HTTP {self.status}" if self.status is not None else self.kind + " error"
        parts = [f"{where} -> {outcome}"]
        if self.reason:
            parts.append(self.reason)
        if self.body_excerpt:
            parts.append(f"body: {self.body_excerpt}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return printable("; ".join(parts))

    @property
    def error_message(self) -> str | None:
        """The ``error`` field of a JSON error body, when the cloud gave one."""
        try:
            data: Any = json.loads(self.body)
        except ValueError:
            return None
        return data.get("error") if isinstance(data, dict) else None
