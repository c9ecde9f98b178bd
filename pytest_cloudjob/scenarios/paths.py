"""What a ``request`` step's ``path`` may be: a path below the cloud's URL that can never leave its origin.

The client builds the URL as the cloud's URL followed by the path, and sends the bearer token with it. A
path that fills (from a variable, the environment, or a value the cloud itself answered) to
``@127.0.0.1:8999/x`` makes the rest of the URL user-info and sends the token to another host; ``//host``,
a scheme, ``..``, a backslash and their percent-encoded forms do the same through a server or proxy that
normalises them. One function, :func:`path_problem`, checks a literal path at load time and a filled one
at run time, so the two can never disagree.
"""
from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
#: Percent-encoded ``.``, ``/``, ``@``, ``\``, ``%`` (double encoding) and control characters.
_ENCODED = re.compile(r"%(?:2e|2f|40|5c|25|[01][0-9a-f]|7f)", re.I)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def path_problem(value: Any) -> str | None:
    """Why ``value`` is not a path the cloud's origin keeps (``None`` when it is one)."""
    if not isinstance(value, str):
        return f"must be a path starting with /, got {type(value).__name__}"
    if not value.startswith("/"):
        return "must be a path starting with /" + (" (a scheme would leave the cloud)" if _SCHEME.match(value) else "")
    path = value.split("?", 1)[0].split("#", 1)[0]
    if _CONTROL.search(value):
        return "must not hold spaces or control characters (CR, LF, NUL...)"
    if "\\" in value:
        return "must not hold a backslash (some servers read it as /)"
    if "//" in value:
        return "must not hold '//' (a host or a scheme would follow)"
    if "@" in path:
        return "must not hold '@' (what comes before it would be user-info, the host after it)"
    if ".." in path.split("/"):
        return "must not hold a '..' segment (it climbs out of the cloud's URL)"
    encoded = _ENCODED.search(value)
    if encoded:
        return f"must not hold the percent-encoded {encoded.group()!r} ('.', '/', '@', '\\', '%' or a control character)"
    return None
