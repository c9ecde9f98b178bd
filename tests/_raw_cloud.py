"""A cloud on 127.0.0.1 that writes raw bytes: answers no HTTP server library would send (a trickle, a
chunked body without end, HTTP/0.9-style garbage, silence), for the client's bounds tests and benchmarks/bounds.py
(the gevent test too: it lives in tests/, on the path of every test)."""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable


def serve(answer: Callable[[socket.socket, threading.Event], object]) -> tuple[str, threading.Event, list[int]]:
    """A loopback server giving ``answer`` to every connection; returns its URL, its stop event, a counter."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    connections: list[int] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                answer(conn, stop)
            except OSError:
                pass  # the client gave up: what the deadline is for

    def accept() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                connections.append(1)
                threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", stop, connections
