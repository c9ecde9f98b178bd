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
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


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
        return "; ".join(parts)

    @property
    def error_message(self) -> str | None:
        """The ``error`` field of a JSON error body, when the cloud gave one."""
        try:
            data: Any = json.loads(self.body)
        except ValueError:
            return None
        return data.get("error") if isinstance(data, dict) else None
