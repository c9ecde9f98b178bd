"""What a ``request`` step's ``path`` may be: the client's own rule (:func:`pytest_cloudjob.api.urls.checked_path`),
asked at load time for a literal path and at run time for a filled one, so scenario and client never disagree.

The client builds the URL as the cloud's URL followed by the path, and sends the bearer token with it. A
path that fills (from a variable, the environment, or a value the cloud itself answered) to
``@127.0.0.1:8999/x`` makes the rest of the URL user-info and sends the token to another host; ``//host``,
a scheme, ``..``, a backslash and their percent-encoded forms do the same through a server or proxy that
normalises them. The client refuses all of them; here its reason is worded for a scenario's ``file:line``
message. On top of it a scenario refuses an ``@`` in the path, written or percent-encoded: harmless after
the leading ``/``, but it reads as user-info, and no path of the protocol holds one.
"""
from __future__ import annotations

import re
from typing import Any

from pytest_cloudjob.api.errors import UnsafeRequestPathError
from pytest_cloudjob.api.urls import checked_path

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_AT = re.compile(r"@|%40", re.I)


def path_problem(value: Any) -> str | None:
    """Why ``value`` is not a path the cloud's origin keeps (``None`` when it is one)."""
    if not isinstance(value, str):
        return f"must be a path starting with /, got {type(value).__name__}"
    try:
        checked_path("GET", value)
    except UnsafeRequestPathError as exc:
        scheme = " (a scheme would leave the cloud)" if not value.startswith("/") and _SCHEME.match(value) else ""
        return f"must be a path starting with / that stays below the cloud's URL{scheme}: {exc.why}"
    at = _AT.search(value.split("?", 1)[0].split("#", 1)[0])
    if at:
        return f"must not hold {at.group()!r} (it reads as user-info, the host after it)"
    return None
