"""Reading a job's fields safely: keywords given to ``Job(...)``, records the cloud lists, results it returns.

A record is the cloud's to write, a keyword the tester's: neither may break a ``Job``. A record field named
``self``, ``__class__`` or ``create`` must not replace what a ``Job`` has, and a tester's ``platfrom_name``
must not quietly become an extra while the job is made on the default platform.
"""
from __future__ import annotations

import json
import keyword
from collections.abc import Mapping
from typing import Any

from pytest_cloudjob.api.errors import CloudApiError, UnknownJobFieldError, excerpt
from pytest_cloudjob.text import nearest

#: The seed constructor's fields: a keyword close to one of these is taken for a typo.
FIELDS = ("platform_name", "job_name", "payload", "pcvl_version", "process_id", "job_id")
#: The scenario language's names of seed fields (``create: {platform: ...}``): given to ``Job()`` they would
#: be kept as an extra while the job is made on the default platform, so they are refused with the real name.
ALIASES = {"platform": "platform_name"}
#: Instance attributes of every ``Job`` that no record field may replace.
OWN_ATTRIBUTES = frozenset({"history", "extra", "status"})


def refuse_typo(key: str) -> None:
    """Raise :class:`UnknownJobFieldError` if ``key`` looks like a misspelt field; other extras are welcome."""
    __tracebackhide__ = True
    close = ALIASES.get(key) or (nearest(key, FIELDS, cutoff=0.8) if isinstance(key, str) else None)
    if close:
        raise UnknownJobFieldError(f"Job() got an unexpected keyword argument {key!r}: did you mean {close!r}? "
                                   f"(the fields are {', '.join(FIELDS)}; other extra keywords are kept as they are)")


def split_record(record: Mapping[Any, Any]) -> tuple[dict[str, Any], dict[Any, Any]]:
    """The known fields of ``record`` that have the right type (``job_id`` falling back to ``id``, a number
    written as text), and every other field as given, known ones of the wrong type included."""
    extras = {key: value for key, value in record.items() if key not in FIELDS}
    known: dict[str, Any] = {}
    for name in FIELDS:
        value = record.get(name, record.get("id") if name == "job_id" else None)
        if name == "payload":
            if isinstance(value, dict):
                known[name] = value
                continue
        elif isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            known[name] = str(value)
            continue
        if name in record:
            extras[name] = record[name]
    return known, extras


def is_safe_attribute(key: Any, cls: type) -> bool:
    """Whether a field can be an attribute of a ``cls`` instance without replacing anything it has or Python uses."""
    return (isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_")
            and key not in OWN_ATTRIBUTES and key not in FIELDS and not hasattr(cls, key))


def as_status(value: Any) -> str | None:
    """A record's status as text, so it can be compared and shown whatever the cloud sent."""
    return value if isinstance(value, str) or value is None else excerpt(value, 80)


def decode_results(body: dict[str, Any], path: str) -> Any:
    """The decoded JSON text of a results body's ``results``; a :class:`CloudApiError` (``kind="protocol"``)
    when the field is missing, is not text, or is not JSON. (``null`` is the caller's to explain.)"""
    __tracebackhide__ = True
    if "results" not in body:
        raise CloudApiError("GET", path, status=200, body=excerpt(body), kind="protocol",
                            reason="the results body has no 'results' field")
    text = body["results"]
    if not isinstance(text, str):
        raise CloudApiError("GET", path, status=200, body=excerpt(body), kind="protocol",
                            reason=f"'results' should be JSON text, got a JSON {_json_type(text)}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CloudApiError("GET", path, status=200, body=excerpt(body), kind="protocol",
                            reason=f"'results' is not JSON text ({exc})") from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", bool: "boolean", int: "number", float: "number"}.get(type(value), "value")
