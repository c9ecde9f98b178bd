"""Reading a request's JSON body without trusting it (docs/protocol.md, "Request bodies").

A client's mistake must get a 4xx that names it, never a 500 and never a job that breaks later reads:
the size is checked before anything is buffered (``Content-Length`` first, then bytes counted while a
chunked body streams in), and only JSON that every later answer can serialize again is accepted: UTF-8,
nested at most ``MAX_DEPTH`` deep, integers of at most ``MAX_INT_DIGITS`` digits, finite numbers (no
``NaN``/``Infinity``: the answers are strict JSON), no lone UTF-16 surrogates in strings.
"""
from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

MAX_BODY_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_INT_DIGITS = 64


class BodyError(Exception):
    """A request body the cloud refuses: ``status`` (400 or 413) and a message naming what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Refused(Exception):
    """Raised from inside the JSON parser's hooks; carries the reason out of the scanner."""


def too_large(limit: int = MAX_BODY_BYTES) -> BodyError:
    return BodyError(413, f"body larger than {limit} bytes")


def declared_too_large(content_length: str | None, limit: int = MAX_BODY_BYTES) -> bool:
    """Whether a ``Content-Length`` header announces more than ``limit`` bytes (without parsing a huge number)."""
    if content_length is None:
        return False
    digits = content_length.strip()
    return digits.isdigit() and (len(digits) > 18 or int(digits) > limit)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or a 413 as soon as it is known to exceed ``limit`` (never buffering more)."""
    if declared_too_large(request.headers.get("content-length"), limit):
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a :class:`BodyError` saying what is wrong with it."""
    return parse_json_object(await read_body(request))


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object within the limits above, or a 400 naming the first problem."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"body is not UTF-8 (invalid byte at offset {exc.start})") from None
    try:
        body = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except _Refused as exc:
        raise BodyError(400, f"body refused: {exc}") from None
    except RecursionError:
        raise BodyError(400, f"body refused: JSON nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(body, dict):
        raise BodyError(400, f"body must be a JSON object, got {type(body).__name__}")
    problem = _first_problem(body)
    if problem:
        raise BodyError(400, f"body refused: {problem}")
    return body


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number; only finite numbers are accepted")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(digits.lstrip('-'))} digits (at most {MAX_INT_DIGITS} are accepted)")
    return int(digits)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is out of range (not a finite double)")
    return value


def _first_problem(body: dict[str, Any]) -> str | None:
    """Depth and strings, checked without recursion: what json.loads accepts but an answer could not send back.

    Only containers go on the stack (with their path, for the message): scalars are checked in place, so a
    long list of numbers costs one loop, not one path string per item.
    """
    todo: list[tuple[dict[str, Any] | list[Any], int, str]] = [(body, 1, "$")]
    while todo:
        container, depth, where = todo.pop()
        if depth > MAX_DEPTH:
            return f"JSON nested deeper than {MAX_DEPTH} levels (at {where[:80]})"
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in items:
            if isinstance(key, str) and not _encodable(key):
                return f"a key at {where[:80]} holds a lone UTF-16 surrogate"
            if isinstance(item, (dict, list)):
                todo.append((item, depth + 1, _path(where, key)))
            elif isinstance(item, str) and not _encodable(item):
                return f"the string at {_path(where, key)[:80]} holds a lone UTF-16 surrogate"
    return None


def _path(where: str, key: str | int) -> str:
    return f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
