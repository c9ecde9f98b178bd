"""The generic ``request`` step's HTTP call: any method and path of the cloud, its answer as data.

Goes through :meth:`Api.request`, the client's one retry loop, so size limits, deadlines, reports and
statistics apply as to every other call. Methods safe to repeat retry on transport errors and
429/502/503/504; every HTTP status is an answer for the step's ``expect`` to judge.
"""
from __future__ import annotations

import json
from typing import Any

from pytest_cloudjob.api.client import ANY_STATUS, CloudContext

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
