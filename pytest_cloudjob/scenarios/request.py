"""The generic ``request`` step's HTTP call: any method and path of the cloud, its answer as data.

Goes through :meth:`Api.request`, the client's one retry loop, so size limits, deadlines, reports and
statistics apply as to every other call. Methods safe to repeat retry on transport errors and
429/502/503/504; every HTTP status is an answer for the step's ``expect`` to judge, except a 404 on a path
outside the protocol: that is a typo of the scenario (:func:`outside_protocol`), not a cloud defect.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pytest_cloudjob.api.client import ANY_STATUS, DEFAULT_PATHS, CloudContext
from pytest_cloudjob.text import nearest

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def send(context: CloudContext, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """``{status, headers, body, text}`` of the call ``args`` describes (an HTTP error status is an answer)."""
    method = args.get("method", "GET")
    response = context.api.request(
        method, args["path"], token,
        headers={str(k): str(v) for k, v in args.get("headers", {}).items()},
        json_body=args.get("body"),
        data=args["raw_body"].encode() if "raw_body" in args else None,
        query={str(k): str(v) for k, v in args.get("query", {}).items()} or None,
        retry=method in SAFE_METHODS, ok_statuses=ANY_STATUS)
    try:
        body: Any = response.json() if response.content else None
    except ValueError:
        body = response.text
    return {"status": response.status_code, "headers": {k.lower(): v for k, v in response.headers.items()},
            "body": body, "text": response.text if response.content else json.dumps(None)}


def _segments(path: str) -> list[str]:
    return [part for part in path.split("?", 1)[0].split("/") if part]


def _fits(segments: list[str], template: str) -> bool:
    parts = _segments(template)
    return len(parts) == len(segments) and all(t.startswith("{") or t == s for t, s in zip(parts, segments))


def protocol_paths(overrides: Mapping[str, str]) -> list[str]:
    """The protocol's path templates (``/api/job/status/{job_id}``), with the context's own overrides."""
    return sorted({**DEFAULT_PATHS, **overrides}.values())


def outside_protocol(path: str, overrides: Mapping[str, str]) -> str | None:
    """``None`` when ``path`` is one of the protocol's paths (any value in a ``{...}`` segment); else the
    words to say so: `` (did you mean '/api/job/status/{job_id}'?)`` for the nearest, or nothing."""
    segments = _segments(path)
    templates = protocol_paths(overrides)
    if any(_fits(segments, template) for template in templates):
        return None

    def filled(template: str) -> str:  # the template with this path's values in its {...} segments
        parts = _segments(template)
        if len(parts) != len(segments):
            return template
        return "/" + "/".join(s if t.startswith("{") else t for t, s in zip(parts, segments))

    wanted = "/" + "/".join(segments)
    by_filled = {filled(template): template for template in reversed(templates)}  # the first template wins a tie
    match = nearest(wanted, by_filled, cutoff=PATH_TYPO)
    return f" (did you mean {by_filled[match]!r}?)" if match is not None else ""


#: A path this close to one of the protocol's (its values filled in) is taken for a typo of it.
PATH_TYPO = 0.75
