"""A small asyncio HTTP/1.1 load generator: N keep-alive connections, bounded by count and time.

Written against raw sockets so the load costs the client little CPU on a 2-core machine and the
server, not the client, is what gets measured.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.I)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    bodies: list[bytes]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _connection(host: str, port: int, requests: list[bytes], deadline: float, budget: list[int],
                      errors: list[int], keep: list[bytes], keep_bodies: bool) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            writer.write(requests[done % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            match = _LENGTH.search(head)
            body = await reader.readexactly(int(match.group(1))) if match else b""
            if not head.startswith(b"HTTP/1.1 200"):
                errors[0] += 1
            elif keep_bodies:
                keep.append(body)
            done += 1
    finally:
        writer.close()
    return done


def run_load(url: str, token: str, connections: int, paths: list[str], *, method: str = "GET",
             body: dict | None = None, max_requests: int = 100_000, max_seconds: float = 5.0,
             keep_bodies: bool = False) -> LoadResult:
    """Send up to ``max_requests`` requests for at most ``max_seconds`` over ``connections`` connections."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode() if body is not None else b""
    requests = []
    for path in paths:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        requests.append(head.encode() + payload)

    async def main() -> LoadResult:
        budget, errors, keep = [max_requests], [0], list[bytes]()
        started = time.perf_counter()
        deadline = started + max_seconds
        counts = await asyncio.gather(*(
            _connection(parts.hostname or "127.0.0.1", parts.port or 80, requests[i::connections] or requests,
                        deadline, budget, errors, keep, keep_bodies) for i in range(connections)))
        return LoadResult(sum(counts), time.perf_counter() - started, errors[0], keep)

    return asyncio.run(main())
