"""Where the client meets HTTP: the target's settings (:class:`CloudContext`) and the caller (:class:`Api`).

``Api`` owns one pooled ``requests.Session`` per context (sending through
:class:`~pytest_cloudjob.api.transport.CloudAdapter`), the table of endpoint paths, and the retry
rules. Retries follow idempotency, per call rather than per HTTP method: reads retry, a cancel retries
(cancelling twice is harmless), a create or a rerun never does, because a lost response would make a
second job. urllib3's ``Retry`` decides by method only, hence the small loop here.

Three bounds keep a misbehaving cloud from hanging or swelling a run: a response body above
``CloudContext.max_response_bytes`` is refused (a protocol error, read no further); every call, its retries
included, ends within ``CloudContext.call_timeout`` (connect, first byte and whole body: a cloud trickling
a byte a second cannot hold a create); and inside :func:`~pytest_cloudjob.api.deadline.calls_end_by` (every
``Job.wait_until``) the earlier of that and the block's deadline applies. Each attempt's connect and read
timeouts are cut to the time left, and the deadline's watchdog shuts the socket of an answer still arriving.

Every URL is built by :mod:`~pytest_cloudjob.api.urls`: a path can never change the cloud's scheme, host
or port, nor climb above its path, whatever it holds (it is refused before anything is sent).
"""
from __future__ import annotations

import json
import math
import re
import ssl
import threading
import time
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict
from urllib3.util import Timeout

from pytest_cloudjob.api.deadline import (
    MIN_ATTEMPT_SECONDS,
    attempt_timeout,
    calls_end_by,
    can_retry,
    current_deadline,
    enter,
    leave,
)
from pytest_cloudjob.api.errors import CloudApiError, excerpt
from pytest_cloudjob.api.records import RECORD_BODY_BYTES, CallRecord, notify_call, record_text
from pytest_cloudjob.api.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after
from pytest_cloudjob.api.transport import CloudAdapter, ResponseTooLargeError
from pytest_cloudjob.api.urls import checked_path, fill, join, segment

# Names other modules and the seed's path (api/utils.py) import from here.
__all__ = ["DEFAULT_CALL_TIMEOUT", "DEFAULT_MAX_RESPONSE_BYTES", "DEFAULT_PATHS",
           "RECORD_BODY_BYTES", "RETRYABLE_STATUSES", "Api", "CallRecord",
           "CloudContext", "RetryPolicy", "calls_end_by", "decode_json", "parse_retry_after"]

#: The endpoint paths of Perceval's client plus our admin calls. A target with other paths
#: overrides entries through ``CloudContext(paths={...})``.
DEFAULT_PATHS: dict[str, str] = {
    "job_create": "/api/job",
    "job_read": "/api/job/{job_id}",
    "job_status": "/api/job/status/{job_id}",
    "job_cancel": "/api/job/cancel/{job_id}",
    "job_result": "/api/job/result/{job_id}",
    "job_rerun": "/api/job/rerun/{job_id}",
    "platform": "/api/platforms/{name}/processor",
    "platform_legacy": "/api/platform/{name}",
    "admin_jobs": "/api/admin/jobs",
    "admin_cancel": "/api/admin/jobs/cancel",
}

_USER_AGENT = f"pytest-cloudjob {requests.utils.default_user_agent()}"
#: The default ``CloudContext.max_response_bytes``: far above any protocol body (a status is ~300 bytes, the
#: results of 1000 shots a few KiB), far below what would hurt a CI runner.
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
#: The default ``CloudContext.call_timeout``: twice the read timeout, so a slow honest answer still ends.
DEFAULT_CALL_TIMEOUT = 60.0


@dataclass
class CloudContext:
    """Everything about the target cloud that is not a user: where it is and how to talk to it.

    ``max_response_bytes`` is the largest response body the client reads (a larger one is a protocol error
    that names this setting). ``call_timeout`` is each call's total deadline in seconds, retries included
    (connect, first byte, whole body); inside a wait, the earlier of it and the wait's deadline applies.
    ``with CloudContext(url) as ctx:`` closes its pooled connections on exit.
    """

    url: str
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    verify: bool | str = True
    proxies: Mapping[str, str] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    paths: Mapping[str, str] = field(default_factory=dict)
    pool_size: int = 16
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    call_timeout: float = DEFAULT_CALL_TIMEOUT

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        if isinstance(self.max_response_bytes, bool) or not isinstance(self.max_response_bytes, int) \
                or self.max_response_bytes < 1:
            raise ValueError(f"CloudContext(max_response_bytes=...) must be a positive integer, got "
                             f"{self.max_response_bytes!r}")
        if isinstance(self.call_timeout, bool) or not isinstance(self.call_timeout, (int, float)) \
                or not math.isfinite(self.call_timeout) or self.call_timeout <= 0:
            raise ValueError(f"CloudContext(call_timeout=...) must be a positive, finite number of seconds, got "
                             f"{self.call_timeout!r}")
        self.call_timeout = float(self.call_timeout)
        unknown = set(self.paths) - set(DEFAULT_PATHS)
        if unknown:
            raise ValueError(f"CloudContext(paths=...): unknown endpoint names {sorted(unknown)}; "
                             f"known: {sorted(DEFAULT_PATHS)}")
        self._api: Api | None = None
        self._api_lock = threading.Lock()

    @property
    def api(self) -> Api:
        """The one :class:`Api` of this context, created on first use."""
        if self._api is None:
            with self._api_lock:
                if self._api is None:
                    self._api = Api(self)
        return self._api

    def path(self, endpoint: str, /, **params: str) -> str:
        """The path of ``endpoint`` with its ``{placeholders}`` filled, each one percent-encoded segment."""
        template = self.paths.get(endpoint, DEFAULT_PATHS[endpoint])
        return template.format(**{k: segment(v) for k, v in params.items()})

    def close(self) -> None:
        """Close the pooled connections; the context stays usable and reconnects when needed."""
        if self._api is not None:
            self._api.close()
            self._api = None

    def __enter__(self) -> CloudContext:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CloudContext(url={self.url!r})"



class _AnyStatus(Container[int]):
    def __contains__(self, status: object) -> bool:
        return True


#: ``ok_statuses`` for a call whose every answer is the caller's to judge (the scenarios' ``request`` step).
ANY_STATUS: Container[int] = _AnyStatus()

class Api:
    """JSON over HTTP to one cloud, with pooled connections, timeouts and idempotency-aware retries."""

    def __init__(self, context: CloudContext) -> None:
        self.context = context
        self.session = requests.Session()
        adapter = CloudAdapter(pool_connections=context.pool_size, pool_maxsize=context.pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.listeners: list[Any] = []
        # requests' own merge of the environment (proxy variables, NO_PROXY, CA bundle variables), done
        # once: Session.request redid it on every call, a third of a status call's client time.
        settings = self.session.merge_environment_settings(context.url, dict(context.proxies or {}), None,
                                                           context.verify, None)
        self._proxies: dict[str, str] = dict(settings["proxies"])
        verify = settings["verify"]
        self._verify: bool | str = True if verify is None else verify

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        endpoint: str,
        token: str | None,
        *,
        path_params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        query: Mapping[str, str] | None = None,
        retry: bool = False,
        ok_statuses: frozenset[int] = frozenset({200}),
    ) -> requests.Response:
        """Send one call to endpoint ``endpoint`` of the path table and return the response.

        Raises :class:`CloudApiError` for a transport error, a status outside ``ok_statuses``, or a body
        above ``max_response_bytes``. ``retry=True`` only for calls that are safe to repeat. Inside
        :func:`calls_end_by`, attempts and retries stop at its deadline. Each path parameter is sent as one
        percent-encoded segment: a job id the cloud chose cannot change the path or the host.
        """
        __tracebackhide__ = True
        path = fill(method, self.context.paths.get(endpoint, DEFAULT_PATHS[endpoint]), path_params or {})
        return self._exchange(method, path, token, None, endpoint, path_params, json_body, data, query, retry,
                              ok_statuses)

    def request(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        endpoint: str = "request",
        path_params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        query: Mapping[str, str] | None = None,
        retry: bool = False,
        ok_statuses: Container[int] = frozenset({200}),
    ) -> requests.Response:
        """Send one call to ``path`` (outside the path table too: ``/health``, a new endpoint) and return the
        response; :meth:`call` for the table's endpoints. ``ok_statuses=ANY_STATUS`` takes any answer.

        A ``path`` that could leave the cloud's URL (not starting with one ``/``, a ``.``/``..`` segment,
        a backslash, a control character, or such a form percent-encoded) raises
        :class:`~pytest_cloudjob.api.errors.UnsafeRequestPathError` and nothing is sent.
        """
        __tracebackhide__ = True
        return self._exchange(method, checked_path(method, path), token, headers, endpoint, path_params, json_body,
                              data, query, retry, ok_statuses)

    def _exchange(self, method: str, path: str, token: str | None, headers: Mapping[str, str] | None,
                  endpoint: str, path_params: Mapping[str, str] | None, json_body: Any, data: bytes | None,
                  query: Mapping[str, str] | None, retry: bool, ok_statuses: Container[int]) -> requests.Response:
        """One call of a checked path, its attempts and retries within the call's deadline."""
        __tracebackhide__ = True
        url = join(method, self.context.url, path, query)
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        attempts = self.context.retry.attempts if retry else 1
        started = time.monotonic()
        own_deadline = started + self.context.call_timeout
        outer = current_deadline()
        deadline = own_deadline if outer is None else min(outer, own_deadline)
        entered = enter(deadline)  # read by the transport, which has the watchdog cut an answer still arriving
        try:
            return self._attempts(method, path, url, headers, endpoint, path_params, json_body, data, attempts,
                                  ok_statuses, started, deadline, own_deadline)
        finally:
            leave(entered)

    def _attempts(self, method: str, path: str, url: str, headers: dict[str, str], endpoint: str,
                  path_params: Mapping[str, str] | None, json_body: Any, data: bytes | None, attempts: int,
                  ok_statuses: Container[int], started: float, deadline: float, own_deadline: float
                  ) -> requests.Response:
        __tracebackhide__ = True
        for attempt in range(1, attempts + 1):
            t0 = time.monotonic()
            timeout = attempt_timeout(self.context.connect_timeout, self.context.read_timeout, deadline)
            try:
                response = self._send(self._prepare(method, url, headers, json_body, data), timeout, deadline)
            except requests.RequestException as exc:
                too_large = exc if isinstance(exc, ResponseTooLargeError) else None
                status = too_large.status if too_large else None
                size = (too_large.declared or too_large.read) if too_large else 0
                self._notify(CallRecord(method, url, status, time.monotonic() - t0, json_body, "", attempt,
                                        endpoint, path_params or {}, size, too_large is not None))
                if too_large:
                    raise CloudApiError(
                        method, path, status=status, kind="protocol", attempts=attempt, elapsed=time.monotonic() - started,
                        reason=f"{exc}; raise it with --cloud-max-response-bytes (CloudContext(max_response_bytes=...) from "
                               "Python) if such a body is expected",
                    ) from None
                delay = self.context.retry.delay(attempt, None)
                permanent = isinstance(_root_cause(exc), ssl.SSLCertVerificationError) or _plain_http(exc)
                if attempt < attempts and not permanent and can_retry(deadline, delay):
                    time.sleep(delay)
                    continue
                # A deadline is named when it is what ended the call (not a read timeout before it).
                ended_by = None if not _reached(deadline) else "call" if deadline >= own_deadline else "block"
                raise CloudApiError(
                    method, path, kind="transport",
                    reason=_describe_transport_error(exc, timeout, ended_by, self.context.call_timeout),
                    attempts=attempt, elapsed=time.monotonic() - started,
                ) from None
            text, truncated = record_text(response)
            self._notify(CallRecord(method, url, response.status_code, time.monotonic() - t0, json_body, text,
                                    attempt, endpoint, path_params or {}, len(response.content), truncated))
            if response.status_code in RETRYABLE_STATUSES and attempt < attempts:
                delay = self.context.retry.delay(attempt, response)
                if can_retry(deadline, delay):
                    time.sleep(delay)
                    continue
            if response.status_code in ok_statuses:
                response.attempts = attempt  # type: ignore[attr-defined]
                return response
            raise CloudApiError(
                method, path, status=response.status_code, body=response.text,
                attempts=attempt, elapsed=time.monotonic() - started,
            )
        raise AssertionError("unreachable: the retry loop always returns or raises")

    def _prepare(self, method: str, url: str, headers: dict[str, str], json_body: Any,
                 data: bytes | None) -> requests.PreparedRequest:
        """The request, prepared without Session.request's per-call merging of settings and environment.

        Only what this API sends: a URL built and checked by :func:`~pytest_cloudjob.api.urls.join`, bearer
        and JSON headers, a JSON or raw body. requests' own preparation cost more client time than the HTTP exchange itself.
        """
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = url
        prepared.headers = CaseInsensitiveDict({"Accept": "application/json", "User-Agent": _USER_AGENT, **headers})
        prepared.hooks = default_hooks()
        prepared._cookies = None  # type: ignore[attr-defined]
        prepared.body = None
        if json_body is not None:
            prepared.body = json.dumps(json_body, allow_nan=False).encode()
            prepared.headers["Content-Type"] = "application/json"
        elif data is not None:
            prepared.body = data
        if prepared.body is not None:
            prepared.headers["Content-Length"] = str(len(prepared.body))
        elif method in ("POST", "PUT", "PATCH"):
            prepared.headers["Content-Length"] = "0"
        return prepared

    def _send(self, prepared: requests.PreparedRequest, timeout: tuple[float, float] | Timeout,
              deadline: float | None) -> requests.Response:
        """Send through the session's adapter (where ``responses`` also intercepts), with the environment's
        proxy and CA settings read once. Redirects are not followed: a JSON API answering 3xx is reported."""
        adapter = self.session.get_adapter(prepared.url or "")
        # The body is read inside send, so a connection dropped mid-body is a transport error here, retried
        # like any other. ``responses`` intercepts below CloudAdapter.send, so the bounds apply in unit tests too.
        if isinstance(adapter, CloudAdapter):
            return adapter.send(prepared, timeout=timeout, verify=self._verify, proxies=self._proxies,
                                max_body_bytes=self.context.max_response_bytes, deadline=deadline)
        # requests accepts urllib3's Timeout here; its type stubs say only numbers.
        return adapter.send(prepared, timeout=timeout, verify=self._verify, proxies=self._proxies)  # type: ignore[arg-type]

    def call_json(self, method: str, endpoint: str, token: str | None, **kwargs: Any) -> Any:
        """Like :meth:`call`, and decode the JSON body; a body that is not JSON is a protocol error."""
        __tracebackhide__ = True
        response = self.call(method, endpoint, token, **kwargs)
        return decode_json(response, method)

    def _notify(self, record: CallRecord) -> None:
        for listener in list(self.listeners):
            listener(record)
        notify_call(record)


def decode_json(response: requests.Response, method: str) -> Any:
    """The JSON body of ``response``, or a :class:`CloudApiError` naming the call if it is not JSON."""
    __tracebackhide__ = True
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        path = urlsplit(response.url).path if response.url else "?"
        raise CloudApiError(
            method, path, status=response.status_code, body=response.text, kind="protocol",
            reason="response body is not JSON",
        ) from None


def _root_cause(exc: BaseException) -> BaseException:
    """The first error of ``exc``'s chain, following causes and the context Python kept (not one suppressed)."""
    root = exc
    while True:
        nxt = root.__cause__ or (None if root.__suppress_context__ else root.__context__)
        if nxt is None or nxt is root:
            return root
        root = nxt


def _reached(deadline: float) -> bool:
    """Whether ``deadline`` has come (an attempt cut to the time left times out at it, never before)."""
    return time.monotonic() >= deadline - MIN_ATTEMPT_SECONDS


def _describe_transport_error(exc: requests.RequestException, timeout: tuple[float, float] | Timeout,
                              ended_by: str | None, call_timeout: float) -> str:
    """Why a call got no answer; ``ended_by`` says which deadline ended it: the ``"call"``'s own, or the
    enclosing ``"block"``'s (:func:`calls_end_by`), or ``None`` (a timeout or an error before either)."""
    what = "timed out" if isinstance(exc, requests.Timeout) else "no response"
    if isinstance(exc, requests.Timeout) and ended_by == "call":
        what += (f" at the call's deadline of {call_timeout:g}s (connect, answer and whole body, retries included; "
                 "CloudContext(call_timeout=...), --cloud-call-timeout)")
    elif isinstance(exc, requests.Timeout) and isinstance(timeout, Timeout) and ended_by == "block":
        what += f" after {timeout.total:.2f}s, the time left before the deadline"
    root = _root_cause(exc)
    described = f"{what} ({type(exc).__name__}: {excerpt(str(root), 160)})"
    if isinstance(root, ssl.SSLCertVerificationError):
        # Permanent, so never retried; say what to do about it.
        described += ("; the cloud's certificate is not trusted: give its CA bundle with REQUESTS_CA_BUNDLE "
                      "or CloudContext(verify=...)")
    elif _plain_http(exc):
        described += ("; the server answered in plain HTTP, not TLS: this cloud speaks http://, so give its URL "
                      "with http:// instead of https://")
    return described


#: What OpenSSL says when a TLS hello is answered by a plain-HTTP server (the bytes of ``HTTP/1.1 400``).
_PLAIN_HTTP_ANSWER = re.compile(r"WRONG_VERSION_NUMBER|wrong version number|http request|record layer failure", re.I)


def _plain_http(exc: BaseException) -> bool:
    """Whether a TLS handshake failed because the server speaks plain HTTP (permanent: never retried)."""
    return isinstance(exc, requests.exceptions.SSLError) and bool(_PLAIN_HTTP_ANSWER.search(str(_root_cause(exc))))

