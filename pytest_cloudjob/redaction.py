"""The one redaction choke point: every error text, log line and report goes through :func:`redact`.

Tokens are registered as soon as a :class:`~pytest_cloudjob.User` is built, so a secret is masked
even in text the harness did not expect to carry it (an echoing server, a traceback).
"""
from __future__ import annotations

import re
import threading

MASK = "***"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (too-short values are refused as secrets)."""
    global _pattern
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: object) -> str:
    """Return ``text`` as a string with bearer tokens and every registered secret masked."""
    out = text if isinstance(text, str) else str(text)
    pattern = _pattern
    if pattern is not None:
        out = pattern.sub(MASK, out)
    return _BEARER.sub(lambda m: m.group(1) + MASK, out)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """A copy of ``headers`` safe to show: credentials masked, everything else kept."""
    hidden = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
    return {k: (MASK if k.lower() in hidden else redact(v)) for k, v in headers.items()}
