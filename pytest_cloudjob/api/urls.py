"""The one place that builds a request URL: the cloud's URL, then a path that can never leave it.

A URL made by joining strings lets the path choose the host: ``http://cloud:8080`` + ``@127.0.0.1:8999/x``
is user-info followed by another host, ``//host/x`` is another authority, ``.evil.com/x`` another host
name, ``/a/../../x`` climbs above a base path, and a backslash or a percent-encoded form of these is read
so by some servers and proxies. Each request carries the bearer token, so a path that a scenario filled
from a variable, the environment or the cloud's own answer must never pick where it goes.

:func:`checked_path` refuses such a path (raw, and once and twice percent-decoded) with an
:class:`~pytest_cloudjob.api.errors.UnsafeRequestPathError`; :func:`fill` puts path parameters (a job id
the cloud chose) into a template as one percent-encoded segment each; :func:`join` builds the URL and
checks it as urllib3 parses it (what requests sends): same scheme, host, port and user-info as the base,
path below the base's path. All of it runs before anything is sent.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote, urlencode

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from pytest_cloudjob.api.errors import UnsafeRequestPathError

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Control characters, whitespace of any kind and the backslash: never in a path this client sends (what
#: ``str.isprintable`` refuses is refused too).
_BAD_CHAR = re.compile(r"[\x00-\x20\x7f-\x9f\\\s]")
#: How many rounds of percent-decoding are checked: ``%252e`` is ``%2e`` once decoded, ``.`` twice.
_DECODE_ROUNDS = 2


def checked_path(method: str, path: object) -> str:
    """``path`` if it stays below the cloud's URL whatever decodes it, else :class:`UnsafeRequestPathError`."""
    if not isinstance(path, str):
        raise UnsafeRequestPathError(method, path, f"the path is a {type(path).__name__}, not a string")
    why = _problem(path)
    if why is not None:
        raise UnsafeRequestPathError(method, path, why)
    return path


@functools.lru_cache(maxsize=256)
def _problem(path: str) -> str | None:
    """Why ``path`` could leave the base URL, or ``None`` (cached: the same few paths are sent all run long)."""
    if not path.startswith("/"):
        return "it does not start with '/' (what follows the cloud's URL could be user-info, a port or a host)"
    forms = [path]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(forms[-1], errors="replace") if "%" in forms[-1] else forms[-1]
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    for form in forms:
        encoded = "" if form is path else " once percent-decoded" if form is forms[1] else " percent-decoded twice"
        bare = form.split("?", 1)[0].split("#", 1)[0]
        if _BAD_CHAR.search(form) or not form.isprintable():
            return f"it holds a control character, whitespace or a backslash{encoded}"
        if bare.startswith("//"):
            return f"it starts with '//' (another host){encoded}"
        if any(segment in (".", "..") for segment in bare.split("/")):
            return f"it has a '.' or '..' segment{encoded}"
    return None


def segment(value: object) -> str:
    """``value`` as one path segment: percent-encoded whole (``/``, ``@``, ``:``, ``?``, ``%`` too), and a
    segment of dots alone encoded as well, so no value can add a segment, climb, or reach the authority."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text.strip(".") == "" else text


def fill(method: str, template: str, params: Mapping[str, object]) -> str:
    """``template`` (a path of the endpoint table) checked, with each ``{name}`` replaced by :func:`segment`."""
    return _fill(method, template, tuple((name, str(value)) for name, value in params.items()))


@functools.lru_cache(maxsize=1024)
def _fill(method: str, template: str, params: tuple[tuple[str, str], ...]) -> str:
    """:func:`fill`, remembered: a wait polls the same job's path again and again."""
    checked_path(method, template.format(**{name: "x" for name, _ in params}))
    return template.format(**{name: segment(value) for name, value in params})


def join(method: str, base: str, path: str, query: Mapping[str, str] | None = None) -> str:
    """The URL of ``path`` below ``base`` (checked by :func:`checked_path`), verified as urllib3 parses it."""
    url = base + path + (f"?{urlencode(query)}" if query else "")
    why = _origin_problem(base, url)
    if why is not None:
        raise UnsafeRequestPathError(method, path, why)
    return url


@functools.lru_cache(maxsize=4096)
def _origin_problem(base: str, url: str) -> str | None:
    """Why ``url``, parsed as it will be sent, leaves ``base``: another origin or user-info, or a path not
    below ``base``'s (the check under :func:`checked_path`, should it ever miss); remembered per URL, as a
    status poll sends the same one again and again."""
    try:
        sent = parse_url(url)
    except LocationParseError:
        return "the URL it makes cannot be parsed"
    home = _parsed_base(base)
    scheme = (sent.scheme or "").lower()
    origin = (scheme, (sent.host or "").lower(), sent.port or _DEFAULT_PORTS.get(scheme), sent.auth)
    if origin != home[0]:
        return "the URL it makes has another scheme, host, port or user-info"
    sent_path = sent.path or "/"
    if home[1] and not (sent_path == home[1] or sent_path.startswith(home[1] + "/")):
        return "the URL it makes is not below the cloud URL's path"
    return None


@functools.lru_cache(maxsize=16)
def _parsed_base(base: str) -> tuple[tuple[str, str, int | None, str | None], str]:
    parsed = parse_url(base)
    scheme = (parsed.scheme or "").lower()
    return ((scheme, (parsed.host or "").lower(), parsed.port or _DEFAULT_PORTS.get(scheme), parsed.auth),
            (parsed.path or "").rstrip("/"))
