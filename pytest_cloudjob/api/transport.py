"""The HTTP transport under :class:`~pytest_cloudjob.api.client.Api`: requests' adapter, tuned for polling.

A status poll is a tiny request and a tiny JSON answer, so the fixed per-call work of requests' adapter
outweighed the exchange itself. :class:`CloudAdapter` keeps requests' ``send`` (its urllib3 pooling,
TLS, proxies, its mapping of urllib3 errors, and the place where ``responses`` intercepts in unit tests)
and drops three costs that buy nothing for this API:

- the connection pool is looked up once per host and settings, not rebuilt from the URL on every call,
  and with no proxy the request line is the URL's path without re-parsing the URL for a proxy;
- the response is built without a cookie jar: the API authenticates with a bearer token, and the client
  never sends cookies back;
- the body is read in one read, rather than through ``iter_content``'s chunk generator.

Measured by ``python benchmarks/run.py --only client`` (docs/benchmarks.md).
"""
from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

#: How many (origin, settings) pool lookups one adapter remembers; past that it forgets them all and starts over.
MAX_REMEMBERED_POOLS = 64


class CloudAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose responses arrive with their body read, for a JSON API polled often."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pools: dict[Hashable, Any] = {}
        self._pools_lock = threading.Lock()
        super().__init__(*args, **kwargs)

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
             verify: bool | str = True, cert: Any = None, proxies: Mapping[str, str] | None = None
             ) -> requests.Response:
        """requests' ``send``, then the whole body read, so a connection dropped mid-body or a read
        that times out is raised here, as the same requests exception ``Response.content`` would raise."""
        response = super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                                proxies=proxies)
        if stream or response._content_consumed:
            return response
        try:
            body = response.raw.read(decode_content=True)
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc, request=request) from exc
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc, request=request) from exc
        except ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc, request=request) from exc
        except SSLError as exc:
            raise requests.exceptions.SSLError(exc, request=request) from exc
        response._content = body or b""
        response._content_consumed = True
        return response

    def close(self) -> None:
        with self._pools_lock:
            self._pools.clear()
        super().close()
