"""The HTTP transport under :class:`~pytest_cloudjob.api.client.Api`: requests' adapter, tuned for polling.

A status poll is a tiny request and a tiny JSON answer, so the fixed per-call work of requests' adapter
outweighed the exchange itself. :class:`CloudAdapter` keeps requests' ``send`` (its urllib3 pooling,
TLS, proxies, its mapping of urllib3 errors, and the place where ``responses`` intercepts in unit tests)
and drops three costs that buy nothing for this API:

- the connection pool is looked up once per host and settings, not rebuilt from the URL on every call,
  and with no proxy the request line is the URL's path without re-parsing the URL for a proxy;
- the response is built without a cookie jar: the API authenticates with a bearer token, and the client
  never sends cookies back;
- a small body of known length is read in one read, rather than through ``iter_content``'s chunk generator.

It also bounds what a cloud can make the client hold: a body larger than the context's
``max_response_bytes`` is refused after reading at most that many bytes plus one chunk (at once when its
``Content-Length`` says so), and the connection is closed rather than drained. Inside a deadline
(:func:`~pytest_cloudjob.api.deadline.calls_end_by`), an answer still arriving past it has its socket shut
by the deadline's watchdog, so a cloud trickling bytes inside the read timeout cannot hold a wait.

Measured by ``python benchmarks/run.py --only client`` (docs/benchmarks.md).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

from pytest_cloudjob.api.deadline import WATCHDOG, Watch, current_deadline
from pytest_cloudjob.errors import CloudJobError

#: How many (origin, settings) pool lookups one adapter remembers; past that it forgets them all and starts over.
MAX_REMEMBERED_POOLS = 64
#: Bytes read at a time from a body that is large, of unknown length or compressed.
READ_CHUNK_BYTES = 64 * 1024


class ResponseTooLargeError(requests.RequestException, CloudJobError):
    """A response body above the client's limit; the rest of it was never read."""

    def __init__(self, limit: int, status: int, *, declared: int | None = None, read: int = 0,
                 request: requests.PreparedRequest | None = None) -> None:
        self.limit = limit
        self.status = status
        self.declared = declared
        self.read = read
        size = f"Content-Length {declared:,} bytes" if declared is not None else f"stopped after reading {read:,} bytes"
        super().__init__(f"response body larger than the client's limit of {limit:,} bytes ({size})", request=request)


class _WatchedConnection(HTTPConnection):
    """A connection whose requests made inside a deadline are watched until their answer is read."""

    cloudjob_watch: Watch | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = current_deadline()
        if deadline is not None:
            WATCHDOG.watch(deadline, self)
        elif self.cloudjob_watch is not None:
            WATCHDOG.disown(self)
        super().request(*args, **kwargs)

    def getresponse(self) -> Any:
        response = super().getresponse()
        # Still this request's watch: the connection goes back to the pool only once the body is read.
        response.cloudjob_watch = self.cloudjob_watch  # type: ignore[attr-defined]
        return response


class _WatchedHTTPSConnection(HTTPSConnection, _WatchedConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class CloudAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose responses arrive with their body read, for a JSON API polled often."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pools: dict[Hashable, Any] = {}
        self._pools_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """requests' pool manager, with connections the deadline's watchdog can cut (direct connections only)."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: bool | str | None,
                                        proxies: Mapping[str, str] | None = None, cert: Any = None) -> Any:
        """requests' lookup, remembered per origin, proxies, ``verify`` and ``cert``.

        A remembered pool that has been closed (older urllib3 closes the pools it evicts) is looked up again.
        """
        url = request.url or ""
        scheme, _, rest = url.partition("://")
        key = (scheme.lower(), rest.split("/", 1)[0].split("?", 1)[0], verify,
               cert if isinstance(cert, Hashable) else repr(cert),
               tuple(sorted(proxies.items())) if proxies else None)
        pool = self._pools.get(key)
        if pool is not None and pool.pool is not None:
            return pool
        pool = super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        with self._pools_lock:
            if len(self._pools) >= MAX_REMEMBERED_POOLS:
                self._pools.clear()
            self._pools[key] = pool
        return pool

    def request_url(self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        """With no proxy, the path (what requests returns too, after parsing the URL twice to learn it)."""
        if not proxies:
            path = request.path_url
            return f"/{path.lstrip('/')}" if path.startswith("//") else path
        return super().request_url(request, proxies)

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        """requests' response object without the cookie jar (see the module docstring)."""
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else (req.url or "")
        response.request = req
        response.connection = self
        return response

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: bool | str = True, cert: Any = None, proxies: Mapping[str, str] | None = None,
             *, max_body_bytes: int | None = None, deadline: float | None = None) -> requests.Response:
        """requests' ``send``, then the whole body read, so a connection dropped mid-body or a read
        that times out is raised here, as the same requests exception ``Response.content`` would raise.

        ``max_body_bytes`` bounds the body (:class:`ResponseTooLargeError` above it). Past ``deadline`` (on
        the monotonic clock), an answer cut by the watchdog is a ``ReadTimeout`` that says so.
        """
        try:
            response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        except requests.ConnectionError:
            cut = _cut_at(deadline, request)
            if cut is None:
                raise
            raise cut from None
        watch: Watch | None = getattr(response.raw, "cloudjob_watch", None)
        try:
            if stream or getattr(response, "_content_consumed", False):
                return response
            body = self._read(response, request, max_body_bytes, deadline)
        finally:
            if watch is not None:
                WATCHDOG.release(watch)
        if watch is not None and watch.fired:  # a status line cut short ("HTTP/1.1 200") parses as an answer
            raise requests.exceptions.ReadTimeout(_CUT_MESSAGE, request=request)
        response._content = body
        setattr(response, "_content_consumed", True)  # noqa: B010 (private to requests, not in its stubs)
        return response

    @staticmethod
    def _read(response: requests.Response, request: requests.PreparedRequest, max_body_bytes: int | None,
              deadline: float | None) -> bytes:
        """The body, with urllib3's errors as the requests exceptions ``Response.content`` would raise."""
        try:
            return _read_body(response, max_body_bytes, deadline)
        except ResponseTooLargeError as exc:
            response.close()  # the rest of the body is never read: the connection cannot be reused
            exc.request = request
            raise
        except (ProtocolError, DecodeError, ReadTimeoutError, SSLError) as exc:
            cut = _cut_at(deadline, request)
            if cut is not None:
                raise cut from None
            if isinstance(exc, ProtocolError):
                raise requests.exceptions.ChunkedEncodingError(exc, request=request) from exc
            if isinstance(exc, DecodeError):
                raise requests.exceptions.ContentDecodingError(exc, request=request) from exc
            if isinstance(exc, ReadTimeoutError):
                raise requests.exceptions.ReadTimeout(exc, request=request) from exc
            raise requests.exceptions.SSLError(exc, request=request) from exc

    def close(self) -> None:
        with self._pools_lock:
            self._pools.clear()
        super().close()


def _read_body(response: requests.Response, limit: int | None, deadline: float | None) -> bytes:
    """The decoded body, read whole when small and of known length, else chunk by chunk within ``limit``."""
    raw = response.raw
    declared = _content_length(response.headers.get("Content-Length"))
    if limit is not None and declared is not None and declared > limit:
        raise ResponseTooLargeError(limit, response.status_code, declared=declared)
    encoded = response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
    if declared is not None and not encoded and declared <= READ_CHUNK_BYTES:
        return raw.read(decode_content=True) or b""  # every status poll: one read, no generator
    chunks: list[bytes] = []  # joined once at the end: a growing bytearray peaks at twice its size
    size = 0
    for chunk in raw.stream(READ_CHUNK_BYTES, decode_content=True):
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            raise ResponseTooLargeError(limit, response.status_code, read=size)
        if deadline is not None and time.monotonic() > deadline:
            response.close()
            raise requests.exceptions.ReadTimeout("the call's deadline passed while the body was still arriving")
    return b"".join(chunks)


_CUT_MESSAGE = "the answer was still arriving at the deadline (socket shut)"


def _cut_at(deadline: float | None, request: requests.PreparedRequest) -> requests.exceptions.ReadTimeout | None:
    """The error of an answer cut at ``deadline`` when it has passed (the watchdog shut its socket), else ``None``."""
    if deadline is None or time.monotonic() < deadline:
        return None
    return requests.exceptions.ReadTimeout(_CUT_MESSAGE, request=request)


def _content_length(value: str | None) -> int | None:
    """The declared length, or ``None`` when absent or not one non-negative integer (urllib3 then reads to the end)."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)
