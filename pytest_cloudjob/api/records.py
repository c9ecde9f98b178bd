"""What the client tells its listeners about each HTTP exchange (statistics, Allure, scenario failures)."""
from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

#: What a :class:`CallRecord` keeps of a response body; a longer body is kept as its first this-many bytes.
RECORD_BODY_BYTES = 64 * 1024


@dataclass
class CallRecord:
    """One HTTP exchange, as reporting and statistics see it (never with credentials).

    ``response_text`` is the whole body when it is at most :data:`RECORD_BODY_BYTES` long, else its start
    (``response_truncated``; ``response_size`` is the size received): a run keeps thousands of records, so
    none may hold a large body.
    """

    method: str
    url: str
    status: int | None
    elapsed: float
    request_body: Any = None
    response_text: str = ""
    attempt: int = 1
    endpoint: str = ""
    path_params: Mapping[str, str] = field(default_factory=dict)
    response_size: int = 0
    response_truncated: bool = False

    @functools.cached_property
    def response_json(self) -> Any:
        """The body decoded as JSON, once for every listener and reporter; ``None`` if it is not JSON or was cut."""
        if not self.response_text or self.response_truncated:
            return None
        try:
            return json.loads(self.response_text)
        except ValueError:
            return None


def record_text(response: requests.Response) -> tuple[str, bool]:
    """The text a :class:`CallRecord` keeps of ``response``, and whether it was cut."""
    content = response.content
    if len(content) <= RECORD_BODY_BYTES:
        return response.text, False
    return content[:RECORD_BODY_BYTES].decode(response.encoding or "utf-8", errors="replace"), True
