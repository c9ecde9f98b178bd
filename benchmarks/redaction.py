"""Cost of :func:`pytest_cloudjob.redaction.redact`: on a 10 KB text of call records, the size of a long
failure report (no secret registered, six registered and none in the text, one of them in the text), and
on a 1 MiB text with three secrets registered (plain text, JSON with escapes, and one holding each secret
in several encoded forms: URL-encoded, base64'd in a Basic header, ``\\u``-escaped, upper-cased).

    python benchmarks/redaction.py
"""
from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from urllib.parse import quote

from pytest_cloudjob.redaction import redact, register_secret

TEXT = ("GET /api/job/status/1234 answered 200 {'status': 'running', 'progress': 0.5} " * 130)[:10_000]
ROUNDS = 500
MIB = 1 << 20
PLAIN_LINE = "GET /api/job/status/1234 answered 200 status running progress 0.5 in 12 ms\n"
JSON_LINE = json.dumps({"path": "/api/job/status/1234?x=a%20b", "body": 'he said "running"\n', "n": 0.5}) + "\n"


def _mib(line: str) -> str:
    return (line * (MIB // len(line) + 1))[:MIB]


def per_call_ms(text: str, rounds: int = ROUNDS) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        redact(text)
    return (time.perf_counter() - started) / rounds * 1000


def best_ms(text: str, rounds: int) -> float:
    """The best of three timings: the machine is shared, the minimum is the cost of the code."""
    return min(per_call_ms(text, rounds) for _ in range(3))


def _forms(token: str) -> list[Callable[[str], str]]:
    return [lambda t: t, lambda t: quote(t, safe=""),
            lambda t: base64.b64encode(f"user:{t}".encode()).decode(),
            lambda t: "".join(f"\\u{ord(c):04x}" for c in t), str.upper]


def main() -> None:
    print(f"no secret registered: {best_ms(TEXT, ROUNDS):.3f} ms per 10 KB")
    tokens = [secrets.token_urlsafe(32) for _ in range(6)]
    for token in tokens[:3]:
        register_secret(token)
    plain, escaped = _mib(PLAIN_LINE), _mib(JSON_LINE)
    holding = escaped[: MIB // 2] + " ".join(form(t) for t in tokens[:3] for form in _forms(t)) + escaped[MIB // 2:]
    print(f"3 secrets, 1 MiB plain text, none in it: {best_ms(plain, 5):.1f} ms")
    print(f"3 secrets, 1 MiB JSON with escapes, none in it: {best_ms(escaped, 5):.1f} ms")
    masked = redact(holding)
    shown = sum(form(t) in masked for t in tokens[:3] for form in _forms(t))
    print(f"3 secrets, 1 MiB JSON holding each in 5 forms: {best_ms(holding, 5):.1f} ms, "
          f"{shown} of the 15 forms left visible")
    for token in tokens[3:]:
        register_secret(token)
    print(f"6 secrets, none in the text: {best_ms(TEXT, ROUNDS):.3f} ms per 10 KB")
    with_one = TEXT[:5000] + tokens[3] + TEXT[5000:]
    assert tokens[3] not in redact(with_one)
    print(f"6 secrets, one in the text: {best_ms(with_one, ROUNDS):.3f} ms per 10 KB")


if __name__ == "__main__":
    main()
