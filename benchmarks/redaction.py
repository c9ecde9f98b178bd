"""Cost of :func:`pytest_cloudjob.redaction.redact` on a 10 KB text of call records, the size of a
long failure report: with no secret registered, with six registered (none in the text), and with one of
them in the text (full masking plus the heads and tails of long secrets).

    python benchmarks/redaction.py
"""
from __future__ import annotations

import secrets
import time

from pytest_cloudjob.redaction import redact, register_secret

TEXT = ("GET /api/job/status/1234 answered 200 {'status': 'running', 'progress': 0.5} " * 130)[:10_000]
ROUNDS = 500


def per_call_ms(text: str) -> float:
    started = time.perf_counter()
    for _ in range(ROUNDS):
        redact(text)
    return (time.perf_counter() - started) / ROUNDS * 1000


def main() -> None:
    print(f"no secret registered: {per_call_ms(TEXT):.3f} ms per 10 KB")
    tokens = [secrets.token_urlsafe(32) for _ in range(6)]
    for token in tokens:
        register_secret(token)
    print(f"6 secrets, none in the text: {per_call_ms(TEXT):.3f} ms per 10 KB")
    holding = TEXT[:5000] + tokens[3] + TEXT[5000:]
    assert tokens[3] not in redact(holding)
    print(f"6 secrets, one in the text: {per_call_ms(holding):.3f} ms per 10 KB")


if __name__ == "__main__":
    main()
