"""The generic ``request`` step's HTTP call: any method and path of the cloud, its answer as data.

Goes through the client's own session, preparation, size limits and listeners, so reports and statistics
see it (``Api`` has no public call for a path outside its endpoint table yet). Retries like the client:
transport errors and 429/502/503/504, for methods safe to repeat.
"""
from __future__ import annotations

import json
import time
from typing import Any

import requests

from pytest_cloudjob.api.client import CloudContext
from pytest_cloudjob.api.deadline import attempt_timeout, can_retry, current_deadline
from pytest_cloudjob.api.errors import CloudApiError
from pytest_cloudjob.api.records import CallRecord, record_text
from pytest_cloudjob.api.retry import RETRYABLE_STATUSES
from pytest_cloudjob.api.transport import ResponseTooLargeError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def send(context: CloudContext, token: str, args: dict[str, Any]) -> dict[str, Any]:
    """``{status, headers, body, text}`` of the call ``args`` describes (an HTTP error status is an answer)."""
    api = context.api
    method = args.get("method", "GET")
    path = args["path"]
    url = context.url + path
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update({str(k): str(v) for k, v in args.get("headers", {}).items()})
    query = {str(k): str(v) for k, v in args.get("query", {}).items()} or None
    data = args["raw_body"].encode() if "raw_body" in args else None
    attempts = context.retry.attempts if method in SAFE_METHODS else 1
    deadline = current_deadline()
    for attempt in range(1, attempts + 1):
        t0 = time.monotonic()
        try:
            prepared = api._prepare(method, url, headers, args.get("body"), data, query)
            response = api._send(prepared, attempt_timeout(context.connect_timeout, context.read_timeout, deadline),
                                 deadline)
        except requests.RequestException as exc:
            api._notify(CallRecord(method, url, None, time.monotonic() - t0, args.get("body"), "", attempt, "request"))
            if isinstance(exc, ResponseTooLargeError):
                raise CloudApiError(method, path, status=exc.status, kind="protocol", attempts=attempt,
                                    reason=f"{exc}; raise it with CloudContext(max_response_bytes=...)") from None
            if attempt < attempts and can_retry(deadline, context.retry.delay(attempt, None)):
                time.sleep(context.retry.delay(attempt, None))
                continue
            raise CloudApiError(method, path, kind="transport", reason=f"no response ({type(exc).__name__})",
                                attempts=attempt) from None
        text, truncated = record_text(response)
        api._notify(CallRecord(method, url, response.status_code, time.monotonic() - t0, args.get("body"), text,
                               attempt, "request", {}, len(response.content), truncated))
        delay = context.retry.delay(attempt, response)
        if response.status_code in RETRYABLE_STATUSES and attempt < attempts and can_retry(deadline, delay):
            time.sleep(delay)
            continue
        break
    try:
        body: Any = response.json() if response.content else None
    except ValueError:
        body = response.text
    return {"status": response.status_code, "headers": {k.lower(): v for k, v in response.headers.items()},
            "body": body, "text": response.text if response.content else json.dumps(None)}
